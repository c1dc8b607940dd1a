"""The throttle every connection type shares: construction, settings, switches and the public API.

The hit itself runs through :mod:`traffik.throttles._pipeline` (one chain of
steps for ``hit``, ``check`` and ``stat``); this module turns the
constructor's arguments into the snapshot that chain reads, and swaps it
atomically on ``update_*``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from starlette.requests import HTTPConnection

from traffik.backends.base import ErrorPolicy, ThrottleBackend
from traffik.config import check_near_limit_ratio, get_shadow
from traffik.exceptions import ConfigurationError
from traffik.headers import DEFAULT_HEADERS_ALWAYS, Headers
from traffik.headers._headers import HeadersLike
from traffik.keys import escape_component
from traffik.rates import Rate
from traffik.registry import GLOBAL_REGISTRY, ThrottleRegistry, ThrottleRule
from traffik.strategies import ThrottleStrategy
from traffik.throttles._config import (
    Config,
    normalise_backend,
    normalise_callable,
    normalise_cost,
    normalise_headers,
    normalise_min_wait,
    normalise_on_error,
    normalise_rate,
    normalise_strategy,
)
from traffik.throttles._lane import LaneSteps
from traffik.throttles._pipeline import ConnectionT
from traffik.throttles._scope import HEADERS_KEY, merged_headers
from traffik.types import CostFunc, IdentifierFunc, RateFunc, StrategyStat, ThrottledHandler
from traffik.validation import Validator, boolean, instance_of, invalid, non_empty_string, optional

__all__ = ["BaseThrottle", "ConnectionT"]

_EMPTY_CONTEXT: Final[Mapping[str, Any]] = {}

_optional_context: Final[Validator[Mapping[str, Any] | None]] = optional(
    Validator("a mapping", lambda value: isinstance(value, Mapping))
)
_optional_registry: Final[Validator[ThrottleRegistry | None]] = optional(instance_of(ThrottleRegistry))
_optional_bool: Final[Validator[bool | None]] = optional(instance_of(bool, description="True or False"))


def _near_limit_ratio(owner: str, value: object) -> float | None:
    return None if value is None else check_near_limit_ratio(owner, value)


def _keyed_per_route(owner: str, use_method: bool, per_route: object) -> bool:
    """Whether keys carry the method and path: ``per_route`` when given, else ``use_method``.

    ``per_route=False`` shares one quota across every route the throttle
    guards, whatever ``use_method`` says (its default is ``True``);
    ``per_route=True`` with ``use_method=False`` asks for both and is refused.
    """
    per_route = _optional_bool(owner, "per_route", per_route)
    if per_route is None:
        return use_method
    if per_route and not use_method:
        raise ConfigurationError(
            f"{owner}: per_route=True contradicts use_method=False (which keys on the throttle and the client "
            "only); pass one of them"
        )
    return per_route


def _rules(value: Iterable[ThrottleRule] | None, owner: str) -> tuple[ThrottleRule, ...]:
    if value is None:
        return ()
    try:
        rules = tuple(value)
    except TypeError:
        raise invalid(owner, "rules", "an iterable of ThrottleRule", value) from None
    for rule in rules:
        if not isinstance(rule, ThrottleRule):
            raise invalid(owner, "rules", "ThrottleRule or BypassThrottleRule", rule)
    return rules


class BaseThrottle(LaneSteps[ConnectionT]):
    """Shared implementation of :class:`HTTPThrottle` and :class:`WebSocketThrottle`.

    The constructor is theirs: see :class:`~traffik.throttles.HTTPThrottle`
    for the parameters. Subclasses add only what differs (the key's method
    component, the default throttled handler, ``__call__``).
    """

    def __init__(
        self,
        uid: str,
        rate: str | Rate | RateFunc,
        cost: int | CostFunc = 1,
        backend: ThrottleBackend | None = None,
        identifier: IdentifierFunc | None = None,
        strategy: ThrottleStrategy | None = None,
        handle_throttled: ThrottledHandler | None = None,
        headers: HeadersLike | None = None,
        on_error: ErrorPolicy | None = None,
        registry: ThrottleRegistry | None = GLOBAL_REGISTRY,
        rules: Iterable[ThrottleRule] | None = None,
        context: Mapping[str, Any] | None = None,
        dynamic_backend: bool = False,
        min_wait_period: int | float | None = None,
        cache_ids: bool = True,
        dynamic_rules: bool = False,
        use_method: bool = True,
        *,
        shadow: bool | None = None,
        shadow_headers: bool = False,
        near_limit_ratio: float | None = None,
        per_route: bool | None = None,
    ) -> None:
        self._uid = non_empty_string(type(self).__name__, "uid", uid)
        owner = self._owner = f"{type(self).__name__}({uid!r})"
        self._shadow = _optional_bool(owner, "shadow", shadow)
        self._shadow_headers = boolean(owner, "shadow_headers", shadow_headers)
        self._near_limit_ratio = _near_limit_ratio(owner, near_limit_ratio)
        static_rate, rate_func = normalise_rate(rate, owner)
        static_cost, cost_func = normalise_cost(cost, owner)
        self._dynamic_backend = boolean(owner, "dynamic_backend", dynamic_backend)
        self._cache_ids = boolean(owner, "cache_ids", cache_ids)
        self._dynamic_rules = boolean(owner, "dynamic_rules", dynamic_rules)
        self._use_method = _keyed_per_route(owner, boolean(owner, "use_method", use_method), per_route)
        context = _optional_context(owner, "context", context)
        registry = _optional_registry(owner, "registry", registry)
        self._registry = GLOBAL_REGISTRY if registry is None else registry
        self._own_rules = _rules(rules, owner)
        self._config = Config(
            rate=static_rate,
            rate_func=rate_func,
            cost=static_cost,
            cost_func=cost_func,
            backend=normalise_backend(backend, owner),
            strategy=normalise_strategy(strategy, owner),
            identifier=normalise_callable(identifier, "identifier", owner),
            handle_throttled=normalise_callable(handle_throttled, "handle_throttled", owner),
            headers=normalise_headers(headers, owner),
            on_error=normalise_on_error(on_error, owner),
            min_wait_period=normalise_min_wait(min_wait_period, owner),
        )
        self._context = dict(context) if context else _EMPTY_CONTEXT
        # None until the first hit reads the registry's rules (always None with dynamic_rules).
        self._rules = None
        self._key_prefix = escape_component(uid) + ":"
        self._disabled = False
        self._lane = self._lane_config = None
        self._registry.register(self)

    # -- introspection ----------------------------------------------------------

    @property
    def uid(self) -> str:
        """The throttle's unique id (registry key and key prefix)."""
        return self._uid

    @property
    def registry(self) -> ThrottleRegistry:
        """The registry this throttle belongs to."""
        return self._registry

    @property
    def rate(self) -> Rate | None:
        """The static rate, or ``None`` when the rate is computed per request."""
        return self._config.rate

    @property
    def context(self) -> Mapping[str, Any]:
        """The static context passed to callables and handlers."""
        return self._context

    @property
    def is_disabled(self) -> bool:
        """``True`` while the throttle is disabled."""
        return self._disabled

    @property
    def is_shadow(self) -> bool:
        """``True`` while the throttle runs in shadow mode (its own ``shadow``, else the app-wide setting)."""
        return get_shadow() if self._shadow is None else self._shadow

    @property
    def use_method(self) -> bool:
        """Whether counters are kept per method and path (``False``: one quota across routes)."""
        return self._use_method

    @property
    def per_route(self) -> bool:
        """Whether each route (method and path) has its own quota; ``False``: one quota across routes.

        The same answer as :attr:`use_method`, under the name that says what it does.
        """
        return self._use_method

    @property
    def headers(self) -> Headers | None:
        """The header collection resolved on each hit (``None`` when none was configured)."""
        return self._config.headers

    def __repr__(self) -> str:
        config = self._config
        rate = config.rate if config.rate is not None else config.rate_func
        return f"{type(self).__name__}(uid={self._uid!r}, rate={rate!r})"

    # -- switches -----------------------------------------------------------------

    async def disable(self) -> None:
        """Disable the throttle: :meth:`hit` returns at once until :meth:`enable`."""
        self._disabled = True

    async def enable(self) -> None:
        """Re-enable a disabled throttle."""
        self._disabled = False

    # -- atomic updates -------------------------------------------------------------

    def _evolve(self, **changes: Any) -> None:
        """Swap the configuration for one with ``changes``; the old one's lane goes with it.

        A lane copies its configuration's settings, so the common hit reads
        ``_lane`` without comparing configurations: every swap clears it, and
        the next hit through the chain builds the new configuration's lane.
        """
        self._config = self._config.evolve(**changes)
        self._lane = None

    async def update_rate(self, rate: str | Rate | RateFunc) -> None:
        """Swap the rate (string, :class:`Rate` or async callable); the next hit uses it."""
        static_rate, rate_func = normalise_rate(rate, self._owner)
        self._evolve(rate=static_rate, rate_func=rate_func)

    async def update_backend(self, backend: ThrottleBackend | None) -> None:
        """Swap the backend (``None``: the active context's backend)."""
        self._evolve(backend=normalise_backend(backend, self._owner))

    async def update_strategy(self, strategy: ThrottleStrategy | None) -> None:
        """Swap the strategy (``None``: the backend's default)."""
        self._evolve(strategy=normalise_strategy(strategy, self._owner))

    async def update_cost(self, cost: int | CostFunc) -> None:
        """Swap the cost (non-negative int or async callable)."""
        static_cost, cost_func = normalise_cost(cost, self._owner)
        self._evolve(cost=static_cost, cost_func=cost_func)

    async def update_identifier(self, fn: IdentifierFunc | None) -> None:
        """Swap the identifier (sync or async callable; ``None``: the backend's default)."""
        self._evolve(identifier=normalise_callable(fn, "identifier", self._owner))

    async def update_headers(self, headers: HeadersLike | None) -> None:
        """Replace the header collection (``None``: no headers)."""
        self._evolve(headers=normalise_headers(headers, self._owner))

    async def update_min_wait_period(self, ms: int | float | None) -> None:
        """Swap the minimum wait floor (milliseconds) of throttled responses."""
        self._evolve(min_wait_period=normalise_min_wait(ms, self._owner))

    async def update_handle_throttled(self, handler: ThrottledHandler | None) -> None:
        """Swap the throttled handler (``None``: the backend's, else the default)."""
        self._evolve(handle_throttled=normalise_callable(handler, "handle_throttled", self._owner))

    async def update_on_error(self, on_error: ErrorPolicy | None) -> None:
        """Swap the backend-failure policy (``None``: the backend's)."""
        self._evolve(on_error=normalise_on_error(on_error, self._owner))

    async def update_shadow(self, shadow: bool | None) -> None:
        """Switch shadow mode on or off, or follow the app-wide setting (``None``), from the next hit."""
        self._shadow = _optional_bool(self._owner, "shadow", shadow)

    async def update_near_limit_ratio(self, ratio: float | None) -> None:
        """Swap the near-limit ratio (``0 < ratio <= 1``; ``None``: the app-wide ratio)."""
        self._near_limit_ratio = _near_limit_ratio(self._owner, ratio)

    # -- public API ---------------------------------------------------------------------

    async def hit(
        self, connection: ConnectionT, cost: int | None = None, context: Mapping[str, Any] | None = None
    ) -> ConnectionT:
        """Check and consume quota for ``connection``.

        Args:
            connection: The request (or WebSocket).
            cost: Overrides the throttle's cost for this hit; ``0`` skips it.
            context: Merged over the throttle's static context for this hit.

        Returns:
            ``connection``, when admitted (or exempted, skipped, disabled).

        Raises:
            ConnectionThrottled: Over the limit (from the default handler).
            ValueError: A negative ``cost``.
        """
        if cost is None and context is None:
            pending = self._hit_now(connection)  # the common hit: nothing to await in memory
            if pending is not None:
                await pending
            return connection
        await self._hit(connection, cost, context)
        return connection

    async def check(
        self, connection: ConnectionT, cost: int | None = None, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether a hit would pass now, consuming nothing.

        Disabled throttles, exempted clients, skipping rules and a cost of
        ``0`` all pass. A backend failure follows ``on_error``.
        """
        if self._disabled:
            return True
        hit = await self._prepare(connection, cost, context)
        if hit is None:
            return True
        try:
            decision = await self._send(hit, False)
        except ConfigurationError:
            raise
        except Exception as exc:
            return await self._on_backend_error(hit, exc, False) is None
        return decision.allowed

    async def stat(
        self, connection: ConnectionT, cost: int | None = None, context: Mapping[str, Any] | None = None
    ) -> StrategyStat | None:
        """A snapshot of the client's quota (consumes nothing); ``None`` for an exempted client.

        ``hits_remaining`` is what the client may spend now; ``wait_ms`` is
        the wait before a hit of ``cost`` (default: the throttle's, else 1)
        can pass (``0`` if it can now). An observation: it ignores
        :meth:`disable` and rules.
        Backend errors propagate.
        """
        hit = await self._prepare(connection, cost, context, observe=True)
        if hit is None:
            return None
        decision = await self._send(hit, False)
        _, _, _, _, cost, rate, key = hit
        # A peek that would pass reports what is left *after* it; the snapshot reports what is left now.
        remaining = decision.hits_remaining + cost if decision.allowed else decision.hits_remaining
        return StrategyStat(key, rate, remaining, decision.wait_ms, decision.metadata, decision.reset_ms)

    async def get_headers(self, connection: ConnectionT, headers: HeadersLike | None = None) -> dict[str, str]:
        """Resolve the rate limit headers for ``connection``.

        Uses this request's own hit when there was one (no extra backend
        call), else a :meth:`stat` snapshot. The throttle's headers (or
        :data:`~traffik.headers.DEFAULT_HEADERS_ALWAYS` if it has none) are
        merged with ``headers``; a value of ``Header.DISABLE`` suppresses one.
        Returns ``{}`` for an exempted client.
        """
        base = self._config.headers if self._config.headers is not None else DEFAULT_HEADERS_ALWAYS
        collection = base if headers is None else base | Headers(headers)
        stat: StrategyStat | None = None
        allowed = True
        for record in connection.scope.get(HEADERS_KEY) or ():
            if record.throttle is self:
                stat, allowed = record.stat, record.allowed
        if stat is None:
            stat = await self.stat(connection)
            if stat is None:
                return {}
            allowed = stat.wait_ms <= 0
        cost = self._config.cost if self._config.cost is not None else 1
        throttled = not allowed or stat.hits_remaining < cost
        return collection.resolve(connection, stat, self._context, throttled)

    @staticmethod
    def response_headers(connection: HTTPConnection) -> dict[str, str]:
        """The headers every throttle hit so far in this request wants on the response."""
        return merged_headers(connection.scope)
