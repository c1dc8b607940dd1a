"""Sliding window counter: the previous window's count, weighted by how much of it still overlaps.

State layout (a contract with native implementations)::

    (expires_at, window_start, previous, current)

* ``window_start``: start of the aligned window (a multiple of ``rate.expire``)
  in which the state was last written.
* ``previous``, ``current``: cost admitted in the window before it and in it.
* ``expires_at = window_start + 2 * expire``: from then on both counts have
  slid out and the state equals no state.

Reference algorithm, with ``E = rate.expire``, ``L = rate.limit``::

    start = (now // E) * E
    if state is None or state[0] <= now:  prev, curr = 0, 0
    else:
        _, s, prev, curr = state
        if s < start:  prev, curr = curr, 0     # the stored window has ended (s == start - E)
        else:          start = s
    estimate = prev * (1 - (now - start) / E) + curr        # continuous, non-increasing in now
    need = L - cost                                          # cost > L can never pass
    # ready time: when estimate + cost <= L (solved piecewise, evaluated in exactly this form)
    if curr <= need:
        ready = -inf if prev <= need - curr else start + E * (1 - (need - curr) / prev)
    else:
        ready = (start + E) + E * (1 - need / curr)           # falls in the next window
    admit iff ready <= now: new state (start + 2 * E, start, prev, curr + cost)
    hits_remaining: the largest whole h <= L whose ready time (need = L - h) is <= now

Writing the next-window case as ``(start + E) + E * (1 - need / curr)`` makes
it bit-for-bit the same number the current-window formula gives once that
window has started, so a retry at ``now + wait_ms`` is admitted.

Rounding (all strategies, see ``traffik/strategies/_support.py``): admission
compares the ready time with ``now`` exactly; ``wait_ms`` is ``ready - now``
rounded up by a few ulps at most so a retry at ``now + wait_ms`` passes; a
written expiry that rounds to ``<= now`` becomes the next float after ``now``.
"""

from __future__ import annotations

import math
from typing import Any

from traffik.rates import Rate
from traffik.strategies._base import Decision, State, ThrottleStrategy
from traffik.strategies._support import CORRECTION_STEPS, time_until, whole_units

__all__ = ["SlidingWindowCounter"]


class SlidingWindowCounter(ThrottleStrategy):
    """Approximate a sliding window from two fixed-window counters.

    The estimate at ``now`` is ``previous * (1 - elapsed / expire) + current``,
    where ``elapsed`` is the time since the current aligned window started: the
    previous window's count is assumed spread evenly over it. A hit is
    admitted when ``estimate + cost <= limit``. Much smoother than
    :class:`~traffik.strategies.FixedWindow` at boundaries, constant memory,
    but approximate: the bound is exact only when traffic is uniform.

    A denied hit gets the exact time until the estimate has decayed enough
    (possibly inside the next window). A cost larger than ``rate.limit`` can
    never pass: it is denied with the wait until the quota is fully restored
    (the state's expiry), or one full ``rate.expire`` if it already is.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = SlidingWindowCounter(), Rate.parse("4/s")
        >>> state = (2_000.0, 0.0, 0, 4)  # 4 hits in [0, 1000): full
        >>> strategy.step(state, 1_050.0, 1, rate)[1].wait_ms  # 4 * (1 - 0.25) + 1 <= 4 at 1250
        200.0
        >>> strategy.step(state, 1_300.0, 1, rate)[0]
        (3000.0, 1000.0, 4, 1)
    """

    NAME = "sliding-window-counter"
    __slots__ = ()

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        expire = rate.expire
        limit = rate.limit
        start = (now // expire) * expire
        if state is None or state[0] <= now:
            prev: float = 0
            curr: float = 0  # ints while whole: small ints cost no memory per key
        else:
            _, stored_start, prev, curr = state
            if stored_start < start:
                prev, curr = curr, 0
            else:
                start = stored_start
        need = limit - cost
        if need < 0:
            wait = state[0] - now if state is not None and state[0] > now else float(expire)
            return state, Decision(False, wait, _spendable(start, prev, curr, now, expire, limit))
        if not cost:
            return state, Decision(True, 0.0, _spendable(start, prev, curr, now, expire, limit))
        ready = _ready(start, prev, curr, need, expire)
        if ready > now:
            return state, Decision(False, time_until(ready, now), _spendable(start, prev, curr, now, expire, limit))
        curr += cost
        return (start + 2 * expire, start, prev, curr), Decision(
            True, 0.0, _spendable(start, prev, curr, now, expire, limit)
        )

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``window_start``, ``window_end``, ``previous``, ``current``, weighted ``estimate`` and ``limit``."""
        expire = rate.expire
        start = (now // expire) * expire
        prev = curr = 0.0
        if state is not None and state[0] > now:
            _, stored_start, prev, curr = state
            if stored_start < start:
                prev, curr = curr, 0
            else:
                start = stored_start
        estimate = prev * (1.0 - (now - start) / expire) + curr
        return {
            "window_start": start,
            "window_end": start + expire,
            "previous": prev,
            "current": curr,
            "estimate": estimate,
            "limit": rate.limit,
        }


def _ready(start: float, prev: float, curr: float, need: int, expire: int) -> float:
    """When ``estimate + cost <= limit`` (``need = limit - cost >= 0``); see the module docstring."""
    if curr <= need:
        if prev <= need - curr:
            return -math.inf
        return start + expire * (1.0 - (need - curr) / prev)
    return (start + expire) + expire * (1.0 - need / curr)


def _spendable(start: float, prev: float, curr: float, now: float, expire: int, limit: int) -> int:
    """The largest whole cost the step would admit now, checked with :func:`_ready` itself.

    ``_ready(..., limit - h, ...)`` never decreases as ``h`` grows, so the
    units admitted now are ``0..h*``. The estimate is exact or a unit off;
    where float noise put it further (huge limits: many units then share one
    ready time), a binary search finds ``h*`` in at most ~54 evaluations.
    """
    units = whole_units(limit - prev * (1.0 - (now - start) / expire) - curr)
    if units > limit:
        units = limit
    for _ in range(CORRECTION_STEPS):
        if units > 0 and _ready(start, prev, curr, limit - units, expire) > now:
            units -= 1
        elif units < limit and _ready(start, prev, curr, limit - units - 1, expire) <= now:
            units += 1
        else:
            return units
    low, high = 0, limit
    while low < high:
        middle = low + (high - low + 1) // 2
        if _ready(start, prev, curr, limit - middle, expire) <= now:
            low = middle
        else:
            high = middle - 1
    return low
