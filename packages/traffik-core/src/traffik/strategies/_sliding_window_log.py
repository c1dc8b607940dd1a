"""Sliding window log: an exact log of admitted cost, one entry per timestamp.

State layout (a contract with native implementations)::

    (expires_at, t1, c1, t2, c2, ..., tn, cn)

* ``(ti, ci)``: cost ``ci`` admitted at time ``ti``; timestamps strictly
  ascending (hits at the same timestamp are coalesced into one entry).
  An entry counts during ``[ti, ti + expire)``, i.e. while ``ti + expire > now``.
* ``expires_at = tn + expire``: when the newest entry stops counting.

Reference algorithm, with ``E = rate.expire``, ``L = rate.limit``::

    drop the oldest entries while ti + E <= now      (all of them if state[0] <= now)
    used = sum of the remaining ci
    if cost > L:  deny, wait = state[0] - now (E if nothing is logged)
    if used + cost <= L:
        admit; append (now, cost), or add cost to the last entry if tn == now;
        new state[0] = now + E
    else:
        walk the live entries oldest first, summing ci until the sum reaches
        used + cost - L; the entry reached, tk, gives ready = tk + E

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

__all__ = ["SlidingWindowLog"]


class SlidingWindowLog(ThrottleStrategy):
    """Log every admitted hit; never more than ``limit`` cost in any interval of ``expire`` ms.

    Exact, with no boundary burst, at the price of memory proportional to the
    number of distinct hit timestamps in the last window (at most
    ``rate.limit`` entries, fewer when hits share a timestamp).

    A denied hit waits until enough of the oldest entries have expired for the
    cost to fit. A cost larger than ``rate.limit`` can never pass: it is denied
    with the wait until every logged entry has expired (the quota is fully
    restored), or one full ``rate.expire`` if nothing is logged.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = SlidingWindowLog(), Rate.parse("2/s")
        >>> state, _ = strategy.step(None, 100.0, 1, rate)
        >>> state, _ = strategy.step(state, 400.0, 1, rate)
        >>> state
        (1400.0, 100.0, 1, 400.0, 1)
        >>> strategy.step(state, 900.0, 1, rate)[1].wait_ms  # the hit at 100 expires at 1100
        200.0
    """

    NAME = "sliding-window-log"
    __slots__ = ()

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        expire = rate.expire
        limit = rate.limit
        first = 1
        used: float = 0
        logged = None
        if state is not None and state[0] > now:
            # state[0] was computed with the window of the last hit; a rate
            # swapped for a shorter window can leave every entry expired.
            size = len(state)
            while first < size and state[first] + expire <= now:
                first += 2
            if first < size:
                for index in range(first + 1, size, 2):
                    used += state[index]
                logged = state
        available = limit - used
        if cost > available:
            if logged is None or cost > limit:
                wait = logged[0] - now if logged is not None else float(expire)
                return state, Decision(False, wait, available)
            excess = cost - available
            index = first
            while True:
                excess -= logged[index + 1]
                if excess <= 0:
                    break
                index += 2
            return state, Decision(False, time_until(logged[index] + expire, now), available)
        if not cost:
            return state, Decision(True, 0.0, available)
        if logged is None:
            return (now + expire, now, cost), Decision(True, 0.0, available - cost)
        if logged[-2] == now:
            new_state = (now + expire, *logged[first:-1], logged[-1] + cost)
        else:
            new_state = (now + expire, *logged[first:], now, cost)
        return new_state, Decision(True, 0.0, available - cost)

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``used`` cost, live ``entries``, ``oldest`` entry time and ``next_expiry`` (ms), ``limit``."""
        expire = rate.expire
        live = [] if state is None or state[0] <= now else _live_entries(state, now, expire)
        return {
            "used": sum(cost for _, cost in live),
            "entries": len(live),
            "oldest": live[0][0] if live else None,
            "next_expiry": live[0][0] + expire if live else None,
            "limit": rate.limit,
        }


def _live_entries(state: State, now: float, expire: int) -> list[tuple[float, float]]:
    return [(state[i], state[i + 1]) for i in range(1, len(state), 2) if state[i] + expire > now]
