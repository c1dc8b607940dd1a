"""The one place Traffik reads the time.

Strategies receive ``now`` as milliseconds and never read a clock themselves;
backends read it through a :data:`Clock`, so tests can move time with
:class:`ManualClock` instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "monotonic_ms", "wall_ms"]

Clock = Callable[[], float]
"""A zero-argument callable returning the current time in milliseconds."""


def monotonic_ms() -> float:
    """Milliseconds from the process's monotonic clock (immune to wall-clock jumps)."""
    return time.monotonic() * 1000.0


def wall_ms() -> float:
    """Milliseconds since the Unix epoch, for stores shared between processes."""
    return time.time() * 1000.0


class ManualClock:
    """A clock that only moves when told to.

    Example:
        >>> clock = ManualClock(1_000.0)
        >>> clock.advance(250)
        >>> clock()
        1250.0
    """

    __slots__ = ("now",)

    def __init__(self, start_ms: float = 0.0) -> None:
        self.now = float(start_ms)

    def __call__(self) -> float:
        return self.now

    def advance(self, ms: float) -> None:
        """Move the clock forward by ``ms`` milliseconds."""
        if ms < 0:
            raise ValueError(f"ManualClock cannot move backwards (advance({ms!r}))")
        self.now += ms

    def set(self, now_ms: float) -> None:
        """Jump to an absolute time in milliseconds."""
        self.now = float(now_ms)
