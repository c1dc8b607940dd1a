"""A circuit breaker: stop calling a backend that keeps failing, probe it now and then."""

from __future__ import annotations

import math
import threading
from typing import Literal

from traffik.clock import Clock, monotonic_ms
from traffik.error_handlers._monitor import LOGGER
from traffik.events._dispatch import DISPATCH, emit_breaker
from traffik.events._events import BreakerEvent
from traffik.exceptions import ConfigurationError

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed -> open after ``failure_threshold`` failures in a row -> half-open after ``recovery_timeout``.

    * **closed**: every call goes through; a success resets the failure count.
    * **open**: no call goes through (:meth:`allow` is ``False``) until
      ``recovery_timeout`` seconds have passed since it opened.
    * **half-open**: one probe call at a time goes through; its success closes
      the breaker, its failure opens it again for another ``recovery_timeout``.

    A probe that never reports back (its task was cancelled) is given up after
    ``recovery_timeout`` and another probe is let through.

    Args:
        failure_threshold: Consecutive failures that open the breaker (>= 1).
        recovery_timeout: Seconds the breaker stays open before a probe (> 0).
        clock: Milliseconds clock; tests inject a :class:`~traffik.clock.ManualClock`.
        name: Shown in log lines.

    Example:
        >>> from traffik.clock import ManualClock
        >>> clock = ManualClock()
        >>> breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=5, clock=clock)
        >>> breaker.record_failure(); breaker.record_failure()
        >>> breaker.state, breaker.allow()
        ('open', False)
        >>> clock.advance(5_000)
        >>> breaker.allow(), breaker.state
        (True, 'half_open')
        >>> breaker.record_success()
        >>> breaker.state
        'closed'
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        recovery_timeout: float = 30.0,
        *,
        clock: Clock | None = None,
        name: str = "circuit breaker",
    ) -> None:
        if isinstance(failure_threshold, bool) or not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ConfigurationError(
                f"CircuitBreaker: failure_threshold must be an int >= 1, got {failure_threshold!r}"
            )
        if (
            isinstance(recovery_timeout, bool)
            or not isinstance(recovery_timeout, (int, float))
            or not math.isfinite(recovery_timeout)
            or recovery_timeout <= 0
        ):
            raise ConfigurationError(
                f"CircuitBreaker: recovery_timeout must be a positive number of seconds, got {recovery_timeout!r}"
            )
        if clock is not None and not callable(clock):
            raise ConfigurationError(f"CircuitBreaker: clock must be a callable returning milliseconds, got {clock!r}")
        self.failure_threshold = failure_threshold
        self.recovery_timeout = float(recovery_timeout)
        self.name = name
        self._clock: Clock = clock if clock is not None else monotonic_ms
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probe_started: float | None = None
        self._lock = threading.Lock()
        self.times_opened = 0
        """How many times the breaker has opened (an operator's counter)."""

    @property
    def state(self) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half_open"`` (as of the last call)."""
        return self._state

    @property
    def failures(self) -> int:
        """Consecutive failures counted while closed."""
        return self._failures

    def allow(self) -> bool:
        """Whether a call may go to the protected backend now (may move open -> half-open)."""
        if self._state == "closed":
            return True
        now = self._clock()
        recovery_ms = self.recovery_timeout * 1000.0
        with self._lock:
            # Re-read under the lock: another thread may have moved it since the check above.
            state: BreakerState = self._current()
            if state == "open":
                if now - self._opened_at < recovery_ms:
                    return False
                self._state = "half_open"
                self._probe_started = now
            elif state == "closed":
                return True
            # Half-open: one probe at a time.
            elif self._probe_started is not None and now - self._probe_started < recovery_ms:
                return False
            else:
                self._probe_started = now
        if state == "open":
            self._moved("open", "half_open")
        return True

    def _moved(self, old: BreakerState, new: BreakerState) -> None:
        """Tell observers (:mod:`traffik.events`) about a transition, outside the lock."""
        if DISPATCH.observers:
            emit_breaker(BreakerEvent(self.name, old, new))

    def _current(self) -> BreakerState:
        return self._state

    def record_success(self) -> None:
        """A call succeeded: reset the count; a successful probe closes the breaker."""
        if self._state == "closed" and self._failures == 0:
            return
        with self._lock:
            old = self._state
            reopened = old != "closed"
            self._state = "closed"
            self._failures = 0
            self._probe_started = None
        if reopened:
            LOGGER.warning("%s closed: the backend answers again", self.name)
            self._moved(old, "closed")

    def record_failure(self) -> None:
        """A call failed: count it; the threshold (or a failed probe) opens the breaker."""
        now = self._clock()
        with self._lock:
            old = self._state
            if old == "closed":
                self._failures += 1
                if self._failures < self.failure_threshold:
                    return
            elif old == "open":
                return
            self._state = "open"
            self._opened_at = now
            self._probe_started = None
            self.times_opened += 1
        LOGGER.warning(
            "%s open: calls skip the backend for %.3g s after %d failure(s)",
            self.name,
            self.recovery_timeout,
            self._failures,
        )
        self._moved(old, "open")

    def reset(self) -> None:
        """Back to closed with no failures counted."""
        with self._lock:
            old = self._state
            self._state = "closed"
            self._failures = 0
            self._probe_started = None
        if old != "closed":
            self._moved(old, "closed")

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(failure_threshold={self.failure_threshold!r}, "
            f"recovery_timeout={self.recovery_timeout!r}, state={self._state!r})"
        )
