"""Failover: answer from a fallback backend while the primary is down, and go back when it recovers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from traffik._error_policy import ExceptionInfo, resolve_error
from traffik.backends.base import BackendCapabilities, ErrorPolicy, ThrottleBackend, validate_on_error
from traffik.error_handlers._breaker import CircuitBreaker
from traffik.error_handlers._calls import call_backend, timeout_of, wait_of
from traffik.error_handlers._monitor import note_failure
from traffik.events._dispatch import DISPATCH, emit_backend_error, emit_failover
from traffik.events._events import BackendErrorEvent, FailoverEvent
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy

if TYPE_CHECKING:
    from starlette.requests import HTTPConnection

__all__ = ["Failover", "FailoverBackend", "failover"]


class Failover:
    """An ``on_error`` policy that sends calls to ``backend`` while the primary backend fails.

    Set as ``on_error=`` on a throttle (or as a backend's default), it wraps
    the throttle's backend: each call goes to the primary while ``breaker``
    allows it; a call that fails there is answered by the fallback; after
    ``failure_threshold`` failures in a row the breaker opens and calls go
    straight to the fallback (no waiting on a dead or hung primary); after
    ``recovery_timeout`` one probe call tries the primary again, and its
    success sends traffic back. Counters in the fallback are separate from the
    primary's: a client gets a fresh quota on the other store, which is the
    price of staying up.

    When the fallback fails too, ``on_error`` decides (default ``"throttle"``).

    Args:
        backend: The fallback backend (usually an :class:`~traffik.backends.inmemory.InMemoryBackend`).
        breaker: Decides when the primary is skipped (default ``CircuitBreaker()``).
        on_error: Policy applied when the fallback fails as well.

    Example:
        >>> from traffik import HTTPThrottle
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> policy = failover(backend=InMemoryBackend(), breaker=CircuitBreaker(3, 10.0))
        >>> throttle = HTTPThrottle("failover-example", rate="5/s", backend=InMemoryBackend(), on_error=policy)
    """

    def __init__(
        self,
        backend: ThrottleBackend,
        breaker: CircuitBreaker | None = None,
        on_error: ErrorPolicy = "throttle",
    ) -> None:
        if not isinstance(backend, ThrottleBackend):
            raise ConfigurationError(f"failover: backend must be a ThrottleBackend, got {backend!r}")
        if breaker is None:
            breaker = CircuitBreaker(name=f"failover to {type(backend).__name__}")
        elif not isinstance(breaker, CircuitBreaker):
            raise ConfigurationError(f"failover: breaker must be a CircuitBreaker or None, got {breaker!r}")
        self.backend = backend
        self.breaker = breaker
        self.on_error: ErrorPolicy = validate_on_error(on_error, "failover")
        self._fallback_timeout = timeout_of(backend)
        self._routes: dict[int, FailoverBackend] = {}

    def route_backend(self, primary: ThrottleBackend) -> ThrottleBackend:
        """The backend a throttle should call instead of ``primary`` (called once per binding)."""
        if isinstance(primary, FailoverBackend) or primary is self.backend:
            return primary
        route = self._routes.get(id(primary))
        if route is None or route.primary is not primary:
            route = self._routes[id(primary)] = FailoverBackend(primary, self)
        return route

    async def __call__(self, connection: HTTPConnection, info: ExceptionInfo) -> Any:
        """Answer a failed call from the fallback (used when no wrapped backend did it already)."""
        if isinstance(info["backend"], FailoverBackend):
            # The wrapped backend already tried the fallback: it failed as well.
            return await resolve_error(self.on_error, connection, info)
        self.breaker.record_failure()
        try:
            decision = await self.fallback_call(
                info["consume"], info["key"], info["strategy"], info["rate"], info["cost"]
            )
        except ConfigurationError:
            raise
        except Exception as exc:
            fallback_info: ExceptionInfo = {**info, "exception": exc, "backend": self.backend}
            return await resolve_error(self.on_error, connection, fallback_info)
        return wait_of(decision)

    async def fallback_call(
        self, consume: bool, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int
    ) -> Decision:
        """The call on the fallback backend, bounded by its timeout."""
        return await call_backend(self.backend, self._fallback_timeout, consume, key, strategy, rate, cost)

    def __repr__(self) -> str:
        return f"failover(backend={self.backend!r}, breaker={self.breaker!r}, on_error={self.on_error!r})"


def failover(
    backend: ThrottleBackend,
    breaker: CircuitBreaker | None = None,
    on_error: ErrorPolicy = "throttle",
) -> Failover:
    """An ``on_error`` policy that fails over to ``backend``; see :class:`Failover`.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> policy = failover(backend=InMemoryBackend(), breaker=CircuitBreaker(5, 30.0))
        >>> policy.breaker.state
        'closed'
    """
    return Failover(backend, breaker, on_error)


class FailoverBackend(ThrottleBackend):
    """The primary backend seen through a :class:`Failover` (built by the throttle, not by users).

    It never hangs longer than the primary's timeout plus the fallback's, and
    it raises only when the fallback fails as well.
    """

    NAME = "failover"
    CAPABILITIES = BackendCapabilities(routing=True)
    call_timeout = None  # each of the two calls inside is bounded on its own

    def __init__(self, primary: ThrottleBackend, policy: Failover) -> None:
        super().__init__(
            primary.namespace,
            persistent=primary.persistent,
            on_error=policy,
            identifier=primary.identifier,
            handle_throttled=primary.handle_throttled,
            clock=primary.clock,
        )
        self.primary = primary
        self.policy = policy
        self.default_strategy = primary.default_strategy
        self._primary_timeout = timeout_of(primary)
        self._on_fallback = False  # which side answered last, to report switches (traffik.events)

    async def hit(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """A hit on the primary, or on the fallback when the primary fails or its breaker is open."""
        return await self._route(True, key, strategy, rate, cost)

    async def peek(self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1) -> Decision:
        """A peek on the primary, or on the fallback when the primary fails or its breaker is open."""
        return await self._route(False, key, strategy, rate, cost)

    async def _route(self, consume: bool, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int) -> Decision:
        breaker = self.policy.breaker
        reason = "breaker open"
        if breaker.allow():
            try:
                decision = await call_backend(self.primary, self._primary_timeout, consume, key, strategy, rate, cost)
            except ConfigurationError:
                raise
            except Exception as exc:
                breaker.record_failure()
                note_failure(self.primary, exc)
                reason = f"error: {type(exc).__name__}"
                if DISPATCH.observers:
                    emit_backend_error(BackendErrorEvent(_name(self.primary), None, type(exc).__name__, "fallback"))
            else:
                breaker.record_success()
                if self._on_fallback:
                    self._switched(False, "recovered")
                return decision
        if not self._on_fallback:
            self._switched(True, reason)
        try:
            return await self.policy.fallback_call(consume, key, strategy, rate, cost)
        except ConfigurationError:
            raise
        except Exception as exc:
            note_failure(self.policy.backend, exc)  # counted under the fallback's name, not the wrapper's
            raise

    def _switched(self, to_fallback: bool, reason: str) -> None:
        self._on_fallback = to_fallback
        if DISPATCH.observers:
            primary, fallback = _name(self.primary), _name(self.policy.backend)
            emit_failover(FailoverEvent(*((primary, fallback) if to_fallback else (fallback, primary)), reason))

    async def clear(self) -> None:
        """Clear the primary's namespace (the fallback is the application's to manage)."""
        await self.primary.clear()

    def __repr__(self) -> str:
        return f"FailoverBackend(primary={self.primary!r}, fallback={self.policy.backend!r})"


def _name(backend: ThrottleBackend) -> str:
    name = getattr(type(backend), "NAME", None)
    return name if isinstance(name, str) else type(backend).__name__
