"""``SlidingWindowLog`` on memcached: the ``gets``/``cas`` loop with a log that stays bounded.

The pure log keeps one entry per distinct hit time in the window, so a busy
client of a large limit grows its item without bound: about 46,000 entries
reach memcached's 1 MB item limit, after which every write fails (and every
read and write of the growing item blocks the event loop for tens of ms).

Here the log is exact up to :data:`MAX_LOG_ENTRIES` entries. When a hit
would take it past that, the log is compacted: entries are grouped on a grid
of ``rate.expire / COMPACTED_ENTRIES`` ms and each group becomes one entry at
the group's *latest* time, with the group's total cost. The newest entry keeps
its time, so the state's expiry does not move. A merged cost stops counting
at most one grid step later than it would have: compaction can only deny a
hit the exact log would admit (by at most that step), never admit one it
would deny. No interval of ``expire`` ms ever holds more than ``limit`` cost.

With at most ``COMPACTED_ENTRIES + 1`` entries after a compaction and
:data:`MAX_LOG_ENTRIES` before the next, the item stays under about 20 KB
whatever the limit.
"""

from __future__ import annotations

from typing import Final

from traffik.backends.base import step_or_reset
from traffik.backends.memcached._native import CasRunner
from traffik.rates import Rate
from traffik.strategies import Decision, SlidingWindowLog, State, ThrottleStrategy

__all__ = ["COMPACTED_ENTRIES", "MAX_LOG_ENTRIES", "SLIDING_LOG_RUNNER", "SlidingLogRunner", "compact"]

MAX_LOG_ENTRIES: Final = 1_024
"""Most ``(time, cost)`` entries stored before the log is compacted; below it, decisions are exact."""

COMPACTED_ENTRIES: Final = 512
"""Grid steps per window after a compaction (the log then holds at most one more entry than this)."""


def compact(state: State, expire: int) -> State:
    """Merge the entries of ``state`` on a grid of ``expire / COMPACTED_ENTRIES`` ms, each at its latest time.

    Example:
        >>> compact((1_600.0, 0.0, 1, 1.0, 2, 999.0, 1, 1_000.0, 1), expire=512)
        (1600.0, 0.0, 1, 1.0, 2, 999.0, 1, 1000.0, 1)
        >>> compact((1_600.0, 0.0, 1, 0.5, 2, 999.0, 1, 1_000.0, 1), expire=512)
        (1600.0, 0.5, 3, 999.0, 1, 1000.0, 1)
    """
    step = expire / COMPACTED_ENTRIES
    merged: list[float] = []
    bucket = None
    for index in range(1, len(state), 2):
        time, cost = state[index], state[index + 1]
        current = time // step
        if current == bucket:
            merged[-2] = time  # the later time: the merged cost counts as long as its newest part
            merged[-1] += cost
        else:
            merged.append(time)
            merged.append(cost)
            bucket = current
    return (state[0], *merged)


class SlidingLogRunner(CasRunner):
    """The ``gets``/``cas`` runner for :class:`~traffik.strategies.SlidingWindowLog`, compacting long logs."""

    strategy_class: type[ThrottleStrategy] | None = SlidingWindowLog

    def step(
        self, strategy: ThrottleStrategy, state: State | None, now: float, cost: int, rate: Rate, key: str
    ) -> tuple[State | None, Decision]:
        """The pure step; a log that grows past :data:`MAX_LOG_ENTRIES` entries is compacted."""
        new_state, decision = step_or_reset(strategy, state, now, cost, rate, key)
        if new_state is not None and new_state is not state and len(new_state) > 2 * MAX_LOG_ENTRIES + 1:
            new_state = compact(new_state, rate.expire)
        return new_state, decision


SLIDING_LOG_RUNNER: Final = SlidingLogRunner()
"""What ``traffik_register_strategy_implementations`` registers for ``sliding-window-log``."""
