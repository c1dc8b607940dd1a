"""Fixed window: a counter per aligned window of ``rate.expire`` milliseconds.

State layout (a contract with native implementations)::

    (window_end, count)

* ``window_end``: end of the current window, a multiple of ``rate.expire``
  (the window is ``[window_end - expire, window_end)``); also the state's
  expiry, after which the count is irrelevant.
* ``count``: cost units admitted in the window.

Reference algorithm, with ``E = rate.expire`` and ``L = rate.limit``::

    if state is None or state[0] <= now:        # fresh window
        window_end, count = (now // E + 1) * E, 0
    if cost > L:        deny, wait = window_end - now          # can never pass
    if cost <= L - count:                       # (not count + cost <= L: exact in doubles too)
        admit, new state (window_end, count + cost)    # unchanged if cost == 0
        hits_remaining = L - count - cost
    else:
        deny, wait = window_end - now, hits_remaining = L - count

Rounding (all strategies, see ``traffik/strategies/_support.py``): admission
compares the ready time with ``now`` exactly; ``wait_ms`` is ``ready - now``
rounded up by a few ulps at most so a retry at ``now + wait_ms`` passes; a
written expiry that rounds to ``<= now`` becomes the next float after ``now``.
"""

from __future__ import annotations

from typing import Any

from traffik.rates import Rate
from traffik.strategies._base import Decision, State, ThrottleStrategy
from traffik.strategies._support import time_until

__all__ = ["FixedWindow"]


class FixedWindow(ThrottleStrategy):
    """Count cost per aligned window; admit while the window's count stays within the limit.

    The cheapest strategy and the default. Windows are aligned to multiples of
    ``rate.expire`` on the backend's clock, so every key resets at the same
    instants. A client can spend up to twice the limit across a window
    boundary (the end of one window and the start of the next); use
    :class:`~traffik.strategies.SlidingWindowLog` or a bucket where that
    matters.

    A denied hit waits until the window ends. A cost larger than
    ``rate.limit`` can never pass: it is denied with the wait until the window
    ends (when the quota is fully restored).

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = FixedWindow(), Rate.parse("2/s")
        >>> state, decision = strategy.step(None, 1_250.0, 2, rate)
        >>> state, decision.allowed
        ((2000.0, 2), True)
        >>> strategy.step(state, 1_500.0, 1, rate)[1].wait_ms
        500.0
    """

    NAME = "fixed-window"
    __slots__ = ()

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        limit = rate.limit
        if state is None or state[0] <= now:
            expire = rate.expire
            window_end = (now // expire + 1) * expire
            count: float = 0
        else:
            window_end, count = state
        # Not `count + cost <= limit`: with a count stored as a double (a shared
        # backend) that sum may round down past 2**53; `limit - count` is exact.
        if cost <= limit - count:
            if cost:
                used = count + cost
                return (window_end, used), Decision(True, 0.0, limit - used)
            return state, Decision(True, 0.0, limit - count)
        wait = window_end - now
        if now + wait < window_end:
            wait = time_until(window_end, now)
        return state, Decision(False, wait, limit - count)

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """Window bounds and count: ``window_start``, ``window_end``, ``count``, ``limit``."""
        expire = rate.expire
        if state is None or state[0] <= now:
            window_end, count = (now // expire + 1) * expire, 0.0
        else:
            window_end, count = state[0], state[1]
        return {"window_start": window_end - expire, "window_end": window_end, "count": count, "limit": rate.limit}
