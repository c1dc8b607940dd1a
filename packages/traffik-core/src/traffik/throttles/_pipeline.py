"""The hit pipeline: one chain of steps shared by ``hit``, ``check`` and ``stat``.

Each step adds one concern and hands on to the next, in the spirit of
httpx's ``send`` -> ``_send_handling_auth`` -> ... chain::

    hit / check / stat
      -> _prepare     rules -> cost -> backend binding -> identity -> rate -> key: a PreparedHit
      -> _send        one backend call (hit consumes, check and stat peek), bounded by its timeout
      -> _record      (hit) the headers of the decision, recorded in the ASGI scope
      -> _deny        (hit, denied) headers, then the throttled handler (shadow mode: neither)

A failed backend call goes to ``_on_backend_error`` (the ``on_error``
policy); these steps after the backend call live in
:mod:`traffik.throttles._verdict`. When an observer listens
(:mod:`traffik.events`), the consuming chain also times the backend call and
reports the decision (:mod:`traffik.throttles._report`); with none, one truth
test is all it costs.

``_prepare`` returns ``None`` when the throttle does not apply to
this hit (a skipping rule, a cost of 0, an exempted client, an unlimited
rate); ``stat`` prepares as an observation (``observe=True``), which ignores
rules and never skips anything but an exempted client. ``_hit_prepared`` is
the consuming chain (``hit()``, the FastAPI dependency, the middleware with
its path pattern as ``key_path``); ``check`` and ``stat`` in
:mod:`traffik.throttles._base` compose the same steps.

Everything that does not depend on the request (rate parsing, key prefix,
headers, the backend binding) is prepared at construction or at the first
hit; each step's common case reads a constant and awaits nothing. The
common consuming hit skips the chain altogether after its first time: see
the lane (:mod:`traffik.throttles._lane`), whose ``_hit`` comes here for
every other hit.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Mapping
from time import perf_counter
from typing import TYPE_CHECKING, Any, ClassVar, Final

from traffik.backends.base import ThrottleBackend, get_active_backend
from traffik.error_handlers._monitor import FAILING, note_recovery
from traffik.events._dispatch import DISPATCH
from traffik.exceptions import ConfigurationError
from traffik.keys import escape_component
from traffik.rates import MAX_EXACT_INT, Rate
from traffik.registry import ThrottleRegistry, ThrottleRule
from traffik.throttles._config import Bound, Config, bind
from traffik.throttles._report import report_exempted
from traffik.throttles._scope import IDS_KEY
from traffik.throttles._verdict import ConnectionT, PreparedHit, VerdictSteps
from traffik.types import EXEMPTED, Exempted, IdentifierFunc

if TYPE_CHECKING:
    from traffik.throttles._lane import Lane, SyncCall

__all__ = ["ConnectionT", "HitPipeline", "PreparedHit"]

_EMPTY_CONTEXT: Final[Mapping[str, Any]] = {}

# The key's method component of the common methods, escaped once. Starlette serves
# HEAD with the GET endpoint: one quota for both, or HEAD doubles it.
_METHOD_COMPONENTS: Final[Mapping[str, str]] = {
    **{name: name for name in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "WEBSOCKET", "HTTP")},
    "HEAD": "GET",
}


class HitPipeline(VerdictSteps[ConnectionT]):
    """The steps of a hit; :class:`~traffik.throttles.BaseThrottle` sets the state they read.

    What a decision leaves (the error policy, headers, the throttled handler,
    reports to observers) is in :class:`~traffik.throttles._verdict.VerdictSteps`.
    """

    #: Method component of keys for this connection type (``None``: the request's method).
    _KEY_METHOD: ClassVar[str | None] = None

    _owner: str
    _uid: str
    _config: Config
    _context: Mapping[str, Any]
    _registry: ThrottleRegistry
    _own_rules: tuple[ThrottleRule, ...]
    _rules: tuple[ThrottleRule, ...] | None  # None until the first hit reads the registry's rules
    _dynamic_backend: bool
    _dynamic_rules: bool
    _cache_ids: bool
    _use_method: bool
    _key_prefix: str
    _disabled: bool
    _lane: Lane | None  # the common hit's constants for _config (every swap of _config clears it)
    _lane_config: Config | None  # the configuration _lane was last built (or refused) for

    # -- _prepare and its steps ---------------------------------------------------------

    async def _prepare(
        self,
        connection: ConnectionT,
        cost: int | None,
        context: Mapping[str, Any] | None,
        key_path: str | None = None,
        observe: bool = False,
        report: bool = False,
    ) -> PreparedHit[ConnectionT] | None:
        """Rules -> cost -> backend binding -> identity -> rate -> key; ``None``: the throttle does not apply.

        ``key_path`` replaces the (escaped) path component of the key (a
        middleware's pattern). ``observe`` (``stat``): ignore rules, probe a cost of 0 as 1,
        keep an unlimited rate; only an exempted client gives ``None``. ``report``
        (a consuming hit): tell observers about an exempted client.
        """
        config = self._config
        ctx = self._context if context is None else self._merge_context(context)
        rules = self._rules
        if (rules is None or rules) and not observe and not await self._rules_allow(connection, ctx):
            return None
        if cost is None and config.cost is not None:
            hit_cost = config.cost
        else:
            hit_cost = await self._cost_for(config, connection, cost, ctx)
        if hit_cost == 0:
            if not observe:
                return None
            hit_cost = 1
        cached = config.bound
        if cached is not None and config.backend is not None and not self._dynamic_backend:
            bound = cached[1]  # the throttle's own backend, bound at an earlier hit
        else:
            bound = self._bind(config)
        identity = self._identify(bound, connection)
        if type(identity) is not str:
            if identity is not EXEMPTED:
                identity = await identity  # type: ignore[misc]  # not a str nor EXEMPTED: the awaitable
            if identity is EXEMPTED:
                if report and DISPATCH.observers:
                    report_exempted(self._uid, bound, config.rate, hit_cost, self._in_shadow())
                return None
        rate = config.rate if config.rate is not None else await self._rate_for(config, connection, ctx)
        if rate.unlimited and not observe:
            return None
        key = self._key(connection, identity, key_path)
        return (connection, config, bound, ctx, hit_cost, rate, key)

    def _merge_context(self, context: Mapping[str, Any]) -> Mapping[str, Any]:
        if not isinstance(context, Mapping):
            raise ConfigurationError(f"{self._owner}: context must be a mapping or None, got {context!r}")
        return {**self._context, **context} if self._context else context

    async def _rules_allow(self, connection: ConnectionT, context: Mapping[str, Any]) -> bool:
        rules = self._rules
        if rules is None or self._dynamic_rules:
            rules = self._own_rules + self._registry.get_rules(self._uid)
            if not self._dynamic_rules:
                self._rules = rules
        for rule in rules:
            matched = await rule.matches(connection, context)
            if matched is rule.bypass:
                # A matching bypass rule, or a gating rule that does not match: skip the throttle.
                return False
        return True

    async def _cost_for(
        self, config: Config, connection: ConnectionT, cost: int | None, context: Mapping[str, Any]
    ) -> int:
        if cost is not None:
            if isinstance(cost, bool) or not isinstance(cost, int) or not 0 <= cost <= MAX_EXACT_INT:
                raise ValueError(f"{self._owner}: cost must be an int from 0 to 2**53 = {MAX_EXACT_INT}, got {cost!r}")
            return cost
        if config.cost is not None:
            return config.cost
        assert config.cost_func is not None
        value: object = config.cost_func(connection, context)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXACT_INT:
            raise ConfigurationError(
                f"{self._owner}: cost callable {config.cost_func!r} must return an int from 0 to "
                f"2**53 = {MAX_EXACT_INT}, got {value!r}"
            )
        return value

    def _bind(self, config: Config) -> Bound:
        """The settings bound to the backend in use (cached per snapshot and backend)."""
        if config.backend is not None and not self._dynamic_backend:
            return bind(config, config.backend)
        # No fixed backend: the active one may change (a new app, a new lifespan).
        backend: ThrottleBackend | None = get_active_backend() or config.backend
        if backend is None:
            raise ConfigurationError(
                f"{self._owner}: no backend. Pass backend=..., install one for the app with "
                "FastAPI(lifespan=backend.lifespan) / Starlette(lifespan=backend.lifespan), "
                "or run inside `async with backend:`"
            )
        return bind(config, backend)

    def _identify(self, bound: Bound, connection: ConnectionT) -> str | Exempted | Awaitable[str | Exempted]:
        """The client's identity (a string) or ``EXEMPTED``; an awaitable of it when the identifier is async.

        A sync identifier that returns a string (the default one) is
        answered without a coroutine: this runs on every hit.
        """
        identifier = bound.identifier
        ids: dict[Any, str | Exempted] | None = None
        if self._cache_ids:
            scope = connection.scope
            ids = scope.get(IDS_KEY)
            if ids is None:
                ids = scope[IDS_KEY] = {}
            else:
                cached: str | Exempted | None = ids.get(identifier)
                if cached is not None:
                    return cached
        identity = identifier(connection)
        if type(identity) is str:
            if ids is not None:
                ids[identifier] = identity
            return identity
        return self._checked_identity(identifier, identity, ids)

    async def _checked_identity(
        self, identifier: IdentifierFunc, identity: object, ids: dict[Any, str | Exempted] | None
    ) -> str | Exempted:
        """The rest of :meth:`_identify`: await an async identifier's answer, check it, cache it."""
        if inspect.isawaitable(identity):
            identity = await identity
        if identity is not EXEMPTED and not isinstance(identity, str):
            raise ConfigurationError(
                f"{self._owner}: identifier {identifier!r} must return a string or EXEMPTED, got {identity!r}"
            )
        if ids is not None:
            ids[identifier] = identity
        return identity

    async def _rate_for(self, config: Config, connection: ConnectionT, context: Mapping[str, Any]) -> Rate:
        if config.rate is not None:
            return config.rate
        assert config.rate_func is not None
        value: object = config.rate_func(connection, context)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, str):
            try:
                value = Rate.parse(value)
            except ConfigurationError as exc:
                raise ConfigurationError(f"{self._owner}: rate callable returned an invalid rate: {exc}") from None
        if not isinstance(value, Rate):
            raise ConfigurationError(
                f"{self._owner}: rate callable {config.rate_func!r} must return a Rate, got {value!r}"
            )
        return value

    def _key(self, connection: ConnectionT, identity: str, path_component: str | None = None) -> str:
        """``{uid}:{identity}[:{method}:{path}]``, every component escaped.

        ``path_component`` is an already escaped path component that replaces
        the request's (a middleware's pattern, escaped once at construction).
        A component with nothing to escape (no ``:``, no ``\\``, ASCII) is used
        as it is without a call: the identity and the path are new on every hit.
        """
        if ":" in identity or "\\" in identity or not identity.isascii():
            identity = escape_component(identity)
        if not self._use_method:
            return self._key_prefix + identity
        scope = connection.scope
        method = self._KEY_METHOD or scope.get("method") or scope["type"].upper()
        method_component = _METHOD_COMPONENTS.get(method)
        if method_component is None:
            method_component = escape_component(method)
        if path_component is None:
            # Key on the matched route's template ("/items/{item_id}"), not the concrete
            # path: otherwise a client multiplies its quota by varying path parameters.
            # Before routing only the concrete path is known (middleware passes its pattern).
            # (getattr on None with a default costs an exception on every unrouted hit.)
            route = scope.get("route")
            template = None if route is None else getattr(route, "path_format", None)
            path = scope.get("root_path", "") + template if isinstance(template, str) else scope["path"]
            path_component = path if ":" not in path and "\\" not in path and path.isascii() else escape_component(path)
        return f"{self._key_prefix}{identity}:{method_component}:{path_component}"

    def _lane_for(self, config: Config, bound: Bound) -> Lane | None:
        """The lane of ``config`` (:mod:`traffik.throttles._lane`); the chain alone has none."""
        return None

    # -- the consuming hit: the whole chain ----------------------------------------------------

    async def _hit_prepared(
        self,
        connection: ConnectionT,
        cost: int | None,
        context: Mapping[str, Any] | None,
        key_path: str | None,
    ) -> bool:
        """The consuming chain step by step (:meth:`_prepare`): any hit the lane does not take."""
        hit = await self._prepare(connection, cost, context, key_path, report=True)
        if hit is None:
            return True
        if cost is None and context is None and self._lane_config is not hit[1] and hit[1] is self._config:
            # The first hit of this configuration: from the next one on, the lane takes it if it can.
            # (Not if an update replaced it while this hit awaited: the lane is read without a check.)
            self._lane_config = hit[1]
            self._lane = self._lane_for(hit[1], hit[2])
        return await self._consume(hit)

    async def _consume(self, hit: PreparedHit[ConnectionT], step: SyncCall | None = None) -> bool:
        """The backend call of a prepared hit and its verdict, timed and reported when an observer listens.

        The chain's last step; the lane's observed hits take it too, so an
        observer gets the same events from both. ``step``: the lane's
        ``bound.consume`` answered without a coroutine (the in-memory backend's).
        """
        _, config, bound, _, cost, rate, key = hit
        # Observers only: the hit path reads no clock when nobody listens.
        observed = DISPATCH.observers
        started = perf_counter() if observed else 0.0
        try:
            if step is None:
                decision = await bound.consume(key, bound.strategy, rate, cost)
            else:
                decision = step(key, bound.strategy, rate, cost)
        except ConfigurationError:
            raise
        except Exception as exc:
            return await self._failed(hit, exc, perf_counter() - started if observed else None)
        if FAILING:  # some backend failed lately: if it was this one, log its recovery once
            note_recovery(bound.backend)
        if observed:
            self._report(hit, decision, perf_counter() - started)
        if decision.allowed:
            # The common case, inline: an admitted hit awaits nothing more.
            headers = config.headers
            if headers is not None and (self._shadow_headers or not self._in_shadow()):
                self._record(hit, headers, decision, 0.0)
            return True
        return await self._deny(hit, decision)
