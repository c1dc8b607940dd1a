"""Leaky buckets: a meter (:class:`LeakyBucket`) and a FIFO queue (:class:`LeakyBucketWithQueue`).

Both leak ``rate.limit`` cost units per ``rate.expire`` milliseconds, one unit
every ``P = rate.expire / rate.limit`` ms, and hold at most ``rate.limit``
units. Their admission decisions are the same as a full-capacity
:class:`~traffik.strategies.TokenBucket` and as
:class:`~traffik.strategies.GCRA` with ``burst_tolerance_ms = expire - P``
(the leaky bucket as a meter and GCRA are two descriptions of one
algorithm); they differ in what they describe.

:class:`LeakyBucket` state layout (a contract with native implementations)::

    (empty_at, level, last)

* ``level``: units in the bucket at time ``last`` (0 to ``rate.limit``).
* ``empty_at``: when the bucket has leaked empty (the state's expiry).

Reference algorithm (``L = rate.limit``, evaluated in exactly this form)::

    if state is None or state[0] <= now:  level, last = 0, now
    if cost > L:  deny, wait = state[0] - now (rate.expire if fresh)
    ready = last + (cost - (L - level)) * P
    if ready <= now:
        v = max(0, level - (now - last) / P) + cost, lowered to L if rounding took it higher
        admit, new state (now + v * P, v, now)
    else:
        deny, wait = ready - now

:class:`LeakyBucketWithQueue` state layout::

    (next_free, next_free)

* ``next_free``: when the queue will have drained everything admitted so far
  (the state's expiry; an empty queue is the same as no state). The value is
  stored twice so that ``state[0]`` keeps meaning "expiry" for every strategy.

Reference algorithm::

    start = state[0] if state is not None and state[0] > now else now
    if cost > L:  deny, wait = state[0] - now (rate.expire if fresh)
    ready = start + (cost - L) * P          # queued units + cost <= L
    if ready <= now:
        admit, n = start + cost * P, new state (n, n), queue delay = start - now
    else:
        deny, wait = ready - now

For both, ``hits_remaining`` is the largest whole ``h <= L`` whose ready time
(same expression) is ``<= now``, for the new state when admitted.

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
from traffik.strategies._support import spendable, time_until

__all__ = ["LeakyBucket", "LeakyBucketWithQueue"]


class LeakyBucket(ThrottleStrategy):
    """The leaky bucket as a meter: admit a hit while it fits in the bucket.

    Each admitted hit pours ``cost`` units into a bucket of capacity
    ``rate.limit`` that leaks ``rate.limit`` units per ``rate.expire``. A hit
    that would overflow is denied (and pours nothing). The level never exceeds
    the capacity, so over any interval of ``t`` ms at most
    ``limit + t * limit / expire`` cost is admitted. Admission is the same as
    :class:`~traffik.strategies.TokenBucket` with the default burst (tokens are
    the bucket's free space). A cost larger than ``rate.limit`` can never
    pass: it is denied with the wait until the bucket is empty, or one full
    ``rate.expire`` if it already is.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = LeakyBucket(), Rate.parse("4/s")
        >>> state, _ = strategy.step(None, 0.0, 4, rate)
        >>> state
        (1000.0, 4.0, 0.0)
        >>> strategy.step(state, 100.0, 2, rate)[1].wait_ms  # 2 units leak every 500 ms
        400.0
    """

    NAME = "leaky-bucket"
    __slots__ = ()

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        limit = rate.limit
        per_unit = rate.expire / limit
        if state is None or state[0] <= now:
            level = 0.0
            last = now
        else:
            _, level, last = state
        free = limit - level
        if cost > limit:
            wait = state[0] - now if state is not None and state[0] > now else float(rate.expire)
            return state, Decision(False, wait, spendable(last, free, 0, per_unit, now, limit))
        if not cost:
            return state, Decision(True, 0.0, spendable(last, free, 0, per_unit, now, limit))
        ready = last + (cost - free) * per_unit
        if ready > now:
            return state, Decision(False, time_until(ready, now), spendable(last, free, 0, per_unit, now, limit))
        level -= (now - last) / per_unit
        if level < 0.0:
            level = 0.0
        level += cost
        if level > limit:
            level = limit
        empty_at = now + level * per_unit
        if empty_at <= now:
            empty_at = math.nextafter(now, math.inf)
        return (empty_at, level, now), Decision(True, 0.0, spendable(now, limit - level, 0, per_unit, now, limit))

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``level`` now, ``capacity``, ``empty_at`` (ms) and ``leak_per_ms``."""
        per_unit = rate.expire / rate.limit
        if state is None or state[0] <= now:
            level, empty_at = 0.0, now
        else:
            level, empty_at = max(0.0, state[1] - (now - state[2]) / per_unit), state[0]
        return {"level": level, "capacity": rate.limit, "empty_at": empty_at, "leak_per_ms": rate.limit / rate.expire}


class LeakyBucketWithQueue(ThrottleStrategy):
    """The leaky bucket as a queue: a FIFO of depth ``rate.limit`` drained one unit per ``expire / limit`` ms.

    A hit joins the queue if its ``cost`` units fit behind the units already
    queued, otherwise it is denied. A shaper would release an admitted hit
    once everything ahead of it has drained: that *queue delay* is in the
    admitted decision's ``metadata["queue_delay_ms"]`` and in
    :meth:`describe`. The delay plus the hit's own drain time never exceeds
    ``rate.expire``. Admission is the same as
    :class:`~traffik.strategies.LeakyBucket` (and GCRA with
    ``burst_tolerance_ms = expire - expire / limit``); only the promise it
    describes differs. A cost larger than ``rate.limit`` can never pass: it is
    denied with the wait until the queue is empty, or one full ``rate.expire``
    if it already is.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = LeakyBucketWithQueue(), Rate.parse("4/s")
        >>> state, _ = strategy.step(None, 0.0, 1, rate)
        >>> state, decision = strategy.step(state, 0.0, 1, rate)
        >>> state, decision.metadata
        ((500.0, 500.0), {'queue_delay_ms': 250.0})
    """

    NAME = "leaky-bucket-with-queue"
    __slots__ = ()

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        limit = rate.limit
        per_unit = rate.expire / limit
        start = state[0] if state is not None and state[0] > now else now
        if cost > limit:
            wait = start - now if start > now else float(rate.expire)
            return state, Decision(False, wait, spendable(start, limit, 0, per_unit, now, limit))
        if not cost:
            return state, Decision(True, 0.0, spendable(start, limit, 0, per_unit, now, limit))
        ready = start + (cost - limit) * per_unit
        if ready > now:
            return state, Decision(False, time_until(ready, now), spendable(start, limit, 0, per_unit, now, limit))
        next_free = start + cost * per_unit
        if next_free <= now:
            next_free = math.nextafter(now, math.inf)
        return (next_free, next_free), Decision(
            True, 0.0, spendable(next_free, limit, 0, per_unit, now, limit), {"queue_delay_ms": start - now}
        )

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``queue_delay_ms`` for a hit arriving now, ``queued`` units, ``depth`` and ``next_free`` (ms)."""
        next_free = state[0] if state is not None and state[0] > now else now
        return {
            "queue_delay_ms": next_free - now,
            "queued": (next_free - now) * rate.limit / rate.expire,
            "depth": rate.limit,
            "next_free": next_free,
        }
