"""What an observer is told: the outcome of a decision, a backend failure, a failover, a breaker move.

Events are small immutable records built only when at least one observer is
registered; with none, the hit path builds nothing and reads no clock. They
are typed named tuples rather than frozen dataclasses: a frozen dataclass
sets each field through ``object.__setattr__``, which made building one
``DecisionEvent`` cost more than the whole rest of a hit; a named tuple is
built in one step (and has no ``__dict__``, like a slotted class).
"""

from __future__ import annotations

import enum
from typing import Literal, NamedTuple

__all__ = [
    "AppliedPolicy",
    "BackendErrorEvent",
    "BreakerEvent",
    "BreakerState",
    "DecisionEvent",
    "FailoverEvent",
    "Observer",
    "Outcome",
]

AppliedPolicy = Literal["allow", "throttle", "raise", "fallback"]
"""What was done about a failed backend call.

``"allow"``: the request was admitted (fail open); ``"throttle"``: rejected
(fail closed); ``"raise"``: the error propagated; ``"fallback"``: a failover
answered the call from its fallback backend.
"""

BreakerState = Literal["closed", "open", "half_open"]
"""A circuit breaker's state (as :attr:`traffik.error_handlers.CircuitBreaker.state`)."""


class Outcome(str, enum.Enum):
    """What a throttle decided for one hit. Use ``.value`` for a metric label.

    Example:
        >>> Outcome.SHADOW_THROTTLED.value
        'shadow-throttled'
        >>> Outcome("allowed") is Outcome.ALLOWED
        True
    """

    ALLOWED = "allowed"
    """Within the limit: admitted."""
    THROTTLED = "throttled"
    """Over the limit: the throttled handler ran (a 429, a WebSocket frame)."""
    SHADOW_THROTTLED = "shadow-throttled"
    """Over the limit in shadow mode: counted as a denial, but the request passed."""
    EXEMPTED = "exempted"
    """The identifier returned ``EXEMPTED``: no backend call."""
    ERROR = "error"
    """The backend call failed; :class:`BackendErrorEvent` says which policy applied."""


class DecisionEvent(NamedTuple):
    """One consuming hit of one throttle (``hit()``, a dependency, a decorator, the middleware).

    ``check()`` and ``stat()`` consume nothing and report nothing. A hit the
    throttle does not apply to (a skipping rule, a cost of 0, an unlimited
    rate, a disabled throttle) is no decision and is not reported either.

    Attributes:
        throttle_uid: The throttle's ``uid`` (bounded: safe as a metric label).
        strategy: The strategy's ``NAME`` (``"fixed-window"``, ``"gcra"``, ...).
        backend: The backend's ``NAME`` (``"inmemory"``, ``"redis"``, ``"failover"``, ...).
        outcome: What was decided.
        cost: The cost of this hit.
        remaining: Cost units the client may still spend after this hit;
            ``None`` when the backend gave no answer (exempted, error).
        limit: The rate's limit; ``None`` when not known (an exempted client
            of a throttle whose rate is computed per request).
        wait_seconds: How long the client must wait (``0`` when allowed);
            for ``"error"``, the wait the policy answered with (``0``: admitted).
        backend_latency: Seconds the backend call took; ``None`` without a call (exempted).
        near_limit: The client has used at least the near-limit ratio of its
            limit (always ``True`` when throttled or shadow-throttled).
        shadow: The throttle was in shadow mode (the request passed whatever the outcome).
    """

    throttle_uid: str
    strategy: str
    backend: str
    outcome: Outcome
    cost: int
    remaining: float | None
    limit: int | None
    wait_seconds: float
    backend_latency: float | None
    near_limit: bool
    shadow: bool


class BackendErrorEvent(NamedTuple):
    """A backend call failed, and what was done about it.

    Attributes:
        backend: ``NAME`` of the backend that failed.
        throttle_uid: The throttle whose hit failed; ``None`` when the failure
            was met below the throttle (a failover routing its primary's call).
        error: The exception's class name (``"ConnectionError"``, ``"BackendTimeoutError"``).
        policy: What was done: ``"allow"``, ``"throttle"``, ``"raise"`` or ``"fallback"``.
    """

    backend: str
    throttle_uid: str | None
    error: str
    policy: AppliedPolicy


class FailoverEvent(NamedTuple):
    """A failover moved traffic from one backend to the other.

    Attributes:
        from_backend: ``NAME`` of the backend traffic leaves.
        to_backend: ``NAME`` of the backend traffic goes to.
        reason: Why: ``"error: <exception class>"``, ``"breaker open"`` or ``"recovered"``.
    """

    from_backend: str
    to_backend: str
    reason: str


class BreakerEvent(NamedTuple):
    """A circuit breaker changed state.

    Attributes:
        breaker: The breaker's ``name`` (a failover names its breaker after its fallback).
        old_state: The state it left.
        new_state: The state it entered.
    """

    breaker: str
    old_state: BreakerState
    new_state: BreakerState


class Observer:
    """Receives events; subclass it and override the methods you need (each is a no-op here).

    Methods are called synchronously on the request's path, in the event
    loop: keep them cheap (increment a counter, append to a buffer) and never
    do I/O in them. An observer that raises never breaks a request: the error
    is logged once per observer and method on the ``traffik`` logger, and the
    other observers still run.

    Example:
        >>> class CountThrottled(Observer):
        ...     def __init__(self) -> None:
        ...         self.throttled = 0
        ...     def on_decision(self, event: DecisionEvent) -> None:
        ...         if event.outcome is Outcome.THROTTLED:
        ...             self.throttled += 1
    """

    def on_decision(self, event: DecisionEvent) -> None:
        """A throttle decided a consuming hit."""

    def on_backend_error(self, event: BackendErrorEvent) -> None:
        """A backend call failed and a policy was applied."""

    def on_failover(self, event: FailoverEvent) -> None:
        """A failover switched backends."""

    def on_breaker(self, event: BreakerEvent) -> None:
        """A circuit breaker changed state."""
