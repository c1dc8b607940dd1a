"""Counting and logging backend failures without flooding the log.

Every failed backend call a throttle sees is counted per (backend class,
exception class) and logged on the ``traffik`` logger. The first failure of a
cause is logged at once with its message; further failures of the same cause
are only counted until ``interval`` seconds have passed, then one line reports
how many were held back. A server that is down for a minute under heavy load
produces a handful of log lines, not one per request. The first successful
call of a backend after failures is logged once, as its recovery.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import weakref
from typing import Final

from traffik.clock import Clock, monotonic_ms
from traffik.exceptions import ConfigurationError

__all__ = [
    "FAILING",
    "LOGGER",
    "FailureMonitor",
    "failure_counts",
    "forget_failure",
    "note_failure",
    "note_recovery",
    "reset_failure_counts",
    "set_failure_log_interval",
]

LOGGER: Final = logging.getLogger("traffik")
"""The logger every failure report goes to."""

Cause = tuple[str, str]
"""``(backend class name, exception class name)``."""

_Entry = tuple["weakref.ref[object] | None", str, int]
"""``(weak reference to the backend, class name, failures since)``."""

FAILING: Final[dict[int, _Entry]] = {}
"""Backends whose last call failed: ``id(backend) -> (ref, class name, failures since)``. The hit
path reads only its truthiness (empty almost always), so a success costs nothing more.

A plain dict keeps that check as cheap as it can be; the weak reference keeps the key
honest: its callback drops the entry while the backend is being collected (before its
address, hence its id, can be reused), and a lookup checks the reference still points
at the backend asked about."""

_failing_lock: Final = threading.Lock()

# Marks an exception already counted, so a policy that re-examines it (retry's
# final policy, a failover whose fallback failed) does not count it twice.
_NOTED: Final = "_traffik_failure_noted"


class FailureMonitor:
    """Counts failures per cause and logs each cause at most once per ``interval``.

    Args:
        interval: Seconds between two log lines about the same cause.
        clock: Milliseconds clock (tests inject a :class:`~traffik.clock.ManualClock`).
        logger: Where reports go.

    Example:
        >>> from traffik.clock import ManualClock
        >>> monitor = FailureMonitor(interval=60.0, clock=ManualClock())
        >>> monitor.note("RedisBackend", ConnectionError("refused"))
        >>> monitor.counts()
        {('RedisBackend', 'ConnectionError'): 1}
    """

    def __init__(
        self,
        interval: float = 60.0,
        clock: Clock | None = None,
        logger: logging.Logger = LOGGER,
    ) -> None:
        self.interval = _check_interval(interval)
        self._clock: Clock = clock if clock is not None else monotonic_ms
        self._logger = logger
        self._counts: dict[Cause, int] = {}
        self._last_logged: dict[Cause, float] = {}
        self._held_back: dict[Cause, int] = {}
        # Throttles may run in several threads (one event loop each).
        self._lock = threading.Lock()

    def note(self, backend_name: str, exc: BaseException) -> None:
        """Count one failure of ``backend_name`` and log it unless its cause was logged recently."""
        cause: Cause = (backend_name, type(exc).__name__)
        now = self._clock()
        with self._lock:
            self._counts[cause] = self._counts.get(cause, 0) + 1
            last = self._last_logged.get(cause)
            if last is not None and now - last < self.interval * 1000.0:
                self._held_back[cause] = self._held_back.get(cause, 0) + 1
                return
            held_back = self._held_back.pop(cause, 0)
            self._last_logged[cause] = now
        if last is None:
            self._logger.warning("%s failed: %s: %s", backend_name, cause[1], exc)
        else:
            self._logger.warning(
                "%s still failing: %s: %s (%d similar failures not logged in the last %.0f s)",
                backend_name,
                cause[1],
                exc,
                held_back,
                (now - last) / 1000.0,
            )

    def counts(self) -> dict[Cause, int]:
        """A snapshot of the failure counts, keyed by ``(backend class, exception class)``."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget every count and every log time."""
        with self._lock:
            self._counts.clear()
            self._last_logged.clear()
            self._held_back.clear()


def _check_interval(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ConfigurationError(f"interval must be a non-negative number of seconds, got {value!r}")
    return float(value)


MONITOR: Final = FailureMonitor()
"""The process-wide monitor the throttles report to."""


def note_failure(backend: object, exc: BaseException) -> bool:
    """Count and (rate-limited) log a failed call to ``backend``.

    The exception is marked as counted, so policies that look at it again
    while handling the same failure do not count it twice.

    Returns:
        ``True`` if this call counted it (then :func:`forget_failure` may clear the mark).
    """
    if getattr(exc, _NOTED, False):
        return False
    # An exception type with __slots__ cannot carry the mark: it is then counted each time it is seen.
    with contextlib.suppress(AttributeError):
        setattr(exc, _NOTED, True)
    name = type(backend).__name__
    key = id(backend)
    with _failing_lock:
        entry = _entry_of(backend, key)
        if entry is None:
            FAILING[key] = (_watch(backend, key), name, 1)
        else:
            FAILING[key] = (entry[0], name, entry[2] + 1)
    MONITOR.note(name, exc)
    return True


def note_recovery(backend: object) -> None:
    """Log, once, that ``backend`` answered again after failing (call it after a successful call).

    Does nothing when ``backend`` was not failing.
    """
    key = id(backend)
    with _failing_lock:
        entry = _entry_of(backend, key)
        if entry is not None:
            del FAILING[key]
    if entry is not None:
        _, name, failures = entry
        calls = "call" if failures == 1 else "calls"
        LOGGER.warning("%s recovered: calls succeed again after %d failed %s", name, failures, calls)


def _entry_of(backend: object, key: int) -> _Entry | None:
    """``backend``'s entry (``None`` if it is not failing, or the entry is another object's)."""
    entry = FAILING.get(key)
    if entry is None or (entry[0] is not None and entry[0]() is not backend):
        return None
    return entry


def _watch(backend: object, key: int) -> weakref.ref[object] | None:
    """A weak reference whose callback drops ``backend``'s entry when it is collected."""

    def collected(ref: weakref.ref[object]) -> None:
        # Runs inside the collector, maybe in a thread that holds _failing_lock: no lock here.
        # The dead object's id is not reused before this returns, so the entry is still its own.
        entry = FAILING.get(key)
        if entry is not None and entry[0] is ref:
            FAILING.pop(key, None)

    try:
        return weakref.ref(backend, collected)
    except TypeError:  # an object without weak references (no backend class): keyed by id alone
        return None


def forget_failure(exc: BaseException) -> None:
    """Clear the mark of :func:`note_failure` (a backend may raise the same exception object again)."""
    with contextlib.suppress(AttributeError):
        delattr(exc, _NOTED)


def failure_counts() -> dict[Cause, int]:
    """How many backend calls failed since start (or the last reset), per cause.

    Returns:
        ``{(backend class name, exception class name): count}``.

    Example:
        >>> reset_failure_counts()
        >>> failure_counts()
        {}
    """
    return MONITOR.counts()


def reset_failure_counts() -> None:
    """Zero the counters behind :func:`failure_counts` (and the log throttling, and the recovery watch)."""
    MONITOR.reset()
    with _failing_lock:
        FAILING.clear()


def set_failure_log_interval(seconds: float) -> None:
    """Seconds between two log lines about the same failure cause (default 60; ``0`` logs every failure)."""
    MONITOR.interval = _check_interval(seconds)
