"""The logic every throttle shares: configuration, rules, identity, one backend call, headers.

A hit is: rules -> cost -> identity -> rate -> key -> one backend call that
decides and returns what the headers need -> headers recorded in the scope ->
the throttled handler if denied. Everything static is prepared at
construction; a hit allocates nothing it can avoid.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Generic, TypeVar

from starlette.requests import HTTPConnection

from traffik._error_policy import ExceptionInfo, backend_timeout, bounded, resolve_error
from traffik.backends.base import ErrorPolicy, ThrottleBackend, get_active_backend
from traffik.exceptions import ConfigurationError
from traffik.headers import DEFAULT_HEADERS_ALWAYS, Headers
from traffik.headers._headers import HeadersLike
from traffik.identifiers import get_remote_address
from traffik.keys import escape_component
from traffik.rates import MAX_EXACT_INT, Rate
from traffik.registry import GLOBAL_REGISTRY, ThrottleRegistry, ThrottleRule
from traffik.strategies import DEFAULT_STRATEGY_CLASS, Decision, ThrottleStrategy
from traffik.throttles._config import (
    Bound,
    Config,
    is_async_callable,
    normalise_backend,
    normalise_callable,
    normalise_cost,
    normalise_headers,
    normalise_min_wait,
    normalise_on_error,
    normalise_rate,
    normalise_strategy,
)
from traffik.throttles._scope import HEADERS_KEY, IDS_KEY, HitRecord, merged_headers, record_hit
from traffik.types import EXEMPTED, StrategyStat

__all__ = ["BaseThrottle", "ConnectionT"]

ConnectionT = TypeVar("ConnectionT", bound=HTTPConnection)

_EMPTY_CONTEXT: Final[Mapping[str, Any]] = {}
_DEFAULT_STRATEGY: Final = DEFAULT_STRATEGY_CLASS()


class BaseThrottle(Generic[ConnectionT]):
    """Shared implementation of :class:`HTTPThrottle` and :class:`WebSocketThrottle`.

    See :class:`~traffik.throttles.HTTPThrottle` for the parameters.
    """

    #: Method component of keys for this connection type (``None``: the request's method).
    _KEY_METHOD: ClassVar[str | None] = None

    def __init__(
        self,
        uid: str,
        rate: Any,
        cost: Any = 1,
        backend: ThrottleBackend | None = None,
        identifier: Any = None,
        strategy: ThrottleStrategy | None = None,
        handle_throttled: Any = None,
        headers: HeadersLike | None = None,
        on_error: ErrorPolicy | None = None,
        registry: ThrottleRegistry | None = None,
        rules: Iterable[ThrottleRule] | None = None,
        context: Mapping[str, Any] | None = None,
        dynamic_backend: bool = False,
        min_wait_period: int | float | None = None,
        cache_ids: bool = True,
        dynamic_rules: bool = False,
        use_method: bool = True,
    ) -> None:
        cls_name = type(self).__name__
        if not isinstance(uid, str) or not uid:
            raise ConfigurationError(f"{cls_name}: uid must be a non-empty string, got {uid!r}")
        owner = f"{cls_name}({uid!r})"
        self._owner = owner
        self._uid = uid
        static_rate, rate_func = normalise_rate(rate, owner)
        static_cost, cost_func = normalise_cost(cost, owner)
        for flag_name, flag in (
            ("dynamic_backend", dynamic_backend),
            ("cache_ids", cache_ids),
            ("dynamic_rules", dynamic_rules),
            ("use_method", use_method),
        ):
            if not isinstance(flag, bool):
                raise ConfigurationError(f"{owner}: {flag_name} must be True or False, got {flag!r}")
        if context is not None and not isinstance(context, Mapping):
            raise ConfigurationError(f"{owner}: context must be a mapping or None, got {context!r}")
        if registry is None:
            registry = GLOBAL_REGISTRY
        elif not isinstance(registry, ThrottleRegistry):
            raise ConfigurationError(f"{owner}: registry must be a ThrottleRegistry or None, got {registry!r}")
        own_rules: tuple[ThrottleRule, ...] = ()
        if rules is not None:
            try:
                own_rules = tuple(rules)
            except TypeError:
                raise ConfigurationError(f"{owner}: rules must be an iterable of ThrottleRule, got {rules!r}") from None
            for rule in own_rules:
                if not isinstance(rule, ThrottleRule):
                    raise ConfigurationError(f"{owner}: rules must be ThrottleRule or BypassThrottleRule, got {rule!r}")
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
        self._context: Mapping[str, Any] = dict(context) if context else _EMPTY_CONTEXT
        self._registry = registry
        self._own_rules = own_rules
        # None until the first hit reads the registry's rules (always None with dynamic_rules).
        self._rules: tuple[ThrottleRule, ...] | None = None
        self._dynamic_backend = dynamic_backend
        self._cache_ids = cache_ids
        self._dynamic_rules = dynamic_rules
        self._use_method = use_method
        self._key_prefix = escape_component(uid) + ":"
        self._disabled = False
        registry.register(self)

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
    def use_method(self) -> bool:
        """Whether counters are kept per method and path (``False``: one quota across routes)."""
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

    async def update_rate(self, rate: Any) -> None:
        """Swap the rate (string, :class:`Rate` or async callable); the next hit uses it."""
        static_rate, rate_func = normalise_rate(rate, self._owner)
        self._config = self._config.evolve(rate=static_rate, rate_func=rate_func)

    async def update_backend(self, backend: ThrottleBackend | None) -> None:
        """Swap the backend (``None``: the active context's backend)."""
        self._config = self._config.evolve(backend=normalise_backend(backend, self._owner))

    async def update_strategy(self, strategy: ThrottleStrategy | None) -> None:
        """Swap the strategy (``None``: the backend's default)."""
        self._config = self._config.evolve(strategy=normalise_strategy(strategy, self._owner))

    async def update_cost(self, cost: Any) -> None:
        """Swap the cost (non-negative int or async callable)."""
        static_cost, cost_func = normalise_cost(cost, self._owner)
        self._config = self._config.evolve(cost=static_cost, cost_func=cost_func)

    async def update_identifier(self, fn: Any) -> None:
        """Swap the identifier (sync or async callable; ``None``: the backend's default)."""
        self._config = self._config.evolve(identifier=normalise_callable(fn, "identifier", self._owner))

    async def update_headers(self, headers: HeadersLike | None) -> None:
        """Replace the header collection (``None``: no headers)."""
        self._config = self._config.evolve(headers=normalise_headers(headers, self._owner))

    async def update_min_wait_period(self, ms: int | float | None) -> None:
        """Swap the minimum wait floor (milliseconds) of throttled responses."""
        self._config = self._config.evolve(min_wait_period=normalise_min_wait(ms, self._owner))

    async def update_handle_throttled(self, handler: Any) -> None:
        """Swap the throttled handler (``None``: the backend's, else the default)."""
        self._config = self._config.evolve(
            handle_throttled=normalise_callable(handler, "handle_throttled", self._owner)
        )

    async def update_on_error(self, on_error: ErrorPolicy | None) -> None:
        """Swap the backend-failure policy (``None``: the backend's)."""
        self._config = self._config.evolve(on_error=normalise_on_error(on_error, self._owner))

    # -- resolution helpers -----------------------------------------------------------

    def _bind(self, config: Config) -> Bound:
        """Settings for the backend in use, cached per (config snapshot, backend)."""
        if self._dynamic_backend:
            backend = get_active_backend() or config.backend
        else:
            backend = config.backend or get_active_backend()
        if backend is None:
            raise ConfigurationError(
                f"{self._owner}: no backend. Pass backend=..., install one for the app with "
                "FastAPI(lifespan=backend.lifespan) / Starlette(lifespan=backend.lifespan), "
                "or run inside `async with backend:`"
            )
        cached = config.bound
        if cached is not None and cached[0] is backend:
            return cached[1]
        resolved = backend
        identifier = config.identifier or backend.identifier or get_remote_address
        on_error = config.on_error if config.on_error is not None else backend.on_error
        # A policy that routes calls itself (traffik.error_handlers.failover) wraps the backend once per binding.
        route = getattr(on_error, "route_backend", None)
        if route is not None:
            backend = route(backend)
        bound = Bound(
            backend=backend,
            strategy=config.strategy or getattr(backend, "default_strategy", None) or _DEFAULT_STRATEGY,
            identifier=identifier,
            identifier_is_async=is_async_callable(identifier),
            handle_throttled=config.handle_throttled or backend.handle_throttled,
            on_error=on_error,
            timeout=backend_timeout(backend),
        )
        config.bound = (resolved, bound)
        return bound

    def _context_for(self, context: Mapping[str, Any] | None) -> Mapping[str, Any]:
        if context is None:
            return self._context
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
        value = config.cost_func(connection, context)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_EXACT_INT:
            raise ConfigurationError(
                f"{self._owner}: cost callable {config.cost_func!r} must return an int from 0 to "
                f"2**53 = {MAX_EXACT_INT}, got {value!r}"
            )
        return value

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

    async def _identity(self, bound: Bound, connection: ConnectionT) -> Any:
        """The client's identity (a string) or ``EXEMPTED``."""
        identifier = bound.identifier
        ids: dict[Any, Any] | None = None
        if self._cache_ids:
            scope = connection.scope
            ids = scope.get(IDS_KEY)
            if ids is None:
                ids = scope[IDS_KEY] = {}
            else:
                cached = ids.get(identifier)
                if cached is not None:
                    return cached
        identity = identifier(connection)
        if bound.identifier_is_async:
            identity = await identity
        elif type(identity) is not str and inspect.isawaitable(identity):
            identity = await identity  # a sync callable that returned an awaitable
        if type(identity) is not str and identity is not EXEMPTED and not isinstance(identity, str):
            raise ConfigurationError(
                f"{self._owner}: identifier {identifier!r} must return a string or EXEMPTED, got {identity!r}"
            )
        if ids is not None:
            ids[identifier] = identity
        return identity

    def _key(self, connection: ConnectionT, identity: str, path: str | None = None) -> str:
        if not self._use_method:
            return self._key_prefix + escape_component(identity)
        scope = connection.scope
        method = self._KEY_METHOD or scope.get("method") or scope["type"].upper()
        if method == "HEAD":
            # Starlette serves HEAD with the GET endpoint: one quota for both, or HEAD doubles it.
            method = "GET"
        if path is None:
            # Key on the matched route's template ("/items/{item_id}"), not the concrete
            # path: otherwise a client multiplies its quota by varying path parameters.
            # Before routing only the concrete path is known (middleware passes its pattern).
            template = getattr(scope.get("route"), "path_format", None)
            path = scope.get("root_path", "") + template if isinstance(template, str) else scope["path"]
        return f"{self._key_prefix}{escape_component(identity)}:{escape_component(method)}:{escape_component(path)}"

    async def _call_backend(self, bound: Bound, key: str, rate: Rate, cost: int, consume: bool) -> Decision:
        backend = bound.backend
        call = backend.hit if consume else backend.peek
        if bound.timeout is None:
            return await call(key, bound.strategy, rate, cost)
        return await bounded(call(key, bound.strategy, rate, cost), bound.timeout, f"{type(backend).__name__}")

    async def _on_backend_error(
        self,
        bound: Bound,
        connection: ConnectionT,
        exc: Exception,
        cost: int,
        context: Mapping[str, Any],
        key: str,
        rate: Rate,
        consume: bool,
    ) -> float | None:
        info: ExceptionInfo = {
            "exception": exc,
            "throttle": self,
            "backend": bound.backend,
            "cost": cost,
            "context": context,
            "key": key,
            "strategy": bound.strategy,
            "rate": rate,
            "consume": consume,
        }
        return await resolve_error(bound.on_error, connection, info)

    # -- the hit path -------------------------------------------------------------------

    async def _hit(
        self,
        connection: ConnectionT,
        cost: int | None,
        context: Mapping[str, Any] | None,
        key_path: str | None = None,
    ) -> dict[str, str] | None:
        """Hit and handle a denial; returns the headers this hit resolved (``None`` if none).

        ``key_path`` replaces the path component of the key (a middleware's pattern).
        """
        if self._disabled:
            return None
        config = self._config
        ctx = self._context if context is None else self._context_for(context)
        if (self._rules is None or self._rules) and not await self._rules_allow(connection, ctx):
            return None
        if cost is None and config.cost is not None:
            hit_cost = config.cost
        else:
            hit_cost = await self._cost_for(config, connection, cost, ctx)
        if hit_cost == 0:
            return None
        cached = config.bound
        if cached is not None and config.backend is not None and not self._dynamic_backend:
            bound = cached[1]
        else:
            # No fixed backend: the active one may change (a new app, a new lifespan).
            bound = self._bind(config)
        identity = await self._identity(bound, connection)
        if identity is EXEMPTED:
            return None
        rate = config.rate if config.rate is not None else await self._rate_for(config, connection, ctx)
        if rate.unlimited:
            return None
        key = self._key(connection, identity, key_path)
        try:
            if bound.timeout is None:
                decision = await bound.backend.hit(key, bound.strategy, rate, hit_cost)
            else:
                decision = await self._call_backend(bound, key, rate, hit_cost, True)
        except ConfigurationError:
            raise
        except Exception as exc:
            error_wait = await self._on_backend_error(bound, connection, exc, hit_cost, ctx, key, rate, True)
            if error_wait is None:
                return None
            await self._throttled(bound, connection, max(error_wait, config.min_wait_period), ctx)
            return None
        resolved: dict[str, str] | None = None
        if decision.allowed:
            if config.headers is not None:
                resolved = self._record(connection, config.headers, key, rate, decision, hit_cost, 0.0, ctx)
            return resolved
        wait_ms = decision.wait_ms
        if wait_ms < config.min_wait_period:
            wait_ms = config.min_wait_period
        if config.headers is not None:
            resolved = self._record(connection, config.headers, key, rate, decision, hit_cost, wait_ms, ctx)
        await self._throttled(bound, connection, wait_ms, ctx)
        return resolved

    def _record(
        self,
        connection: ConnectionT,
        headers: Headers,
        key: str,
        rate: Rate,
        decision: Decision,
        cost: int,
        wait_ms: float,
        context: Mapping[str, Any],
    ) -> dict[str, str]:
        stat = StrategyStat(key, rate, decision.hits_remaining, wait_ms, decision.metadata, decision.reset_ms)
        throttled = not decision.allowed or decision.hits_remaining < cost
        resolved = headers.resolve(connection, stat, context, throttled)
        record_hit(connection.scope, HitRecord(self, stat, decision.allowed, resolved))
        return resolved

    async def _throttled(
        self, bound: Bound, connection: ConnectionT, wait_ms: float, context: Mapping[str, Any]
    ) -> None:
        handler = bound.handle_throttled
        if handler is None:
            await self.default_handle_throttled(connection, wait_ms, context)
            return
        result = handler(connection, wait_ms, self, context)
        if inspect.isawaitable(result):
            await result

    async def default_handle_throttled(
        self, connection: ConnectionT, wait_ms: float, context: Mapping[str, Any]
    ) -> None:
        """What happens to a throttled connection when no handler is set (subclasses define it)."""
        raise NotImplementedError

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
        config = self._config
        ctx = self._context_for(context)
        if not await self._rules_allow(connection, ctx):
            return True
        hit_cost = await self._cost_for(config, connection, cost, ctx)
        if hit_cost == 0:
            return True
        bound = self._bind(config)
        identity = await self._identity(bound, connection)
        if identity is EXEMPTED:
            return True
        rate = await self._rate_for(config, connection, ctx)
        if rate.unlimited:
            return True
        key = self._key(connection, identity)
        try:
            decision = await self._call_backend(bound, key, rate, hit_cost, False)
        except ConfigurationError:
            raise
        except Exception as exc:
            return await self._on_backend_error(bound, connection, exc, hit_cost, ctx, key, rate, False) is None
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
        config = self._config
        ctx = self._context_for(context)
        hit_cost = await self._cost_for(config, connection, cost, ctx)
        bound = self._bind(config)
        identity = await self._identity(bound, connection)
        if identity is EXEMPTED:
            return None
        rate = await self._rate_for(config, connection, ctx)
        key = self._key(connection, identity)
        probe_cost = hit_cost or 1
        decision = await self._call_backend(bound, key, rate, probe_cost, False)
        # A peek that would pass reports what is left *after* it; the snapshot reports what is left now.
        remaining = decision.hits_remaining + probe_cost if decision.allowed else decision.hits_remaining
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
