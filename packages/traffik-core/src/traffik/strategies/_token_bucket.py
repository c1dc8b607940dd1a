"""Token buckets: tokens refill continuously; a hit spends ``cost`` tokens.

State layout (a contract with native implementations)::

    (full_at, tokens, last)

* ``tokens``: tokens in the bucket at time ``last`` (ms); at most the
  capacity, at least ``-max_debt``.
* ``full_at``: when the bucket is full again (the state's expiry; a full
  bucket is the same as no state).

Reference algorithm, with ``C = burst_size or rate.limit`` (capacity),
``D = max_debt`` (0 for :class:`TokenBucket`) and ``P = rate.expire / rate.limit``
(ms per token), evaluated in exactly this form::

    if state is None or state[0] <= now:  tokens, last = C, now
    if cost > C + D:  deny, wait = state[0] - now (rate.expire if fresh)   # can never pass
    ready = last + ((cost - D) - tokens) * P
    if ready <= now:
        t = min(C, tokens + (now - last) / P) - cost, raised to -D if rounding took it lower
        admit, new state (now + (C - t) * P, t, now)
    else:
        deny, wait = ready - now

``hits_remaining`` is the largest whole ``h <= C + D`` whose ready time (same
expression) is ``<= now``, for the new state when admitted.

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
from traffik.strategies._support import check_non_negative_int, check_optional_positive_int, spendable, time_until

__all__ = ["TokenBucket", "TokenBucketWithDebt"]


class TokenBucket(ThrottleStrategy):
    """A bucket of ``burst_size`` tokens refilled at ``rate.limit`` per ``rate.expire``.

    Starts full, so a new client may spend the whole capacity at once, then
    ``rate.limit / rate.expire`` tokens per ms. Over any interval of ``t`` ms
    it admits at most ``capacity + t * limit / expire`` cost. A denied hit
    waits exactly until enough tokens have refilled. A cost larger than the
    capacity can never pass: it is denied with the wait until the bucket is
    full (the quota fully restored), or one full ``rate.expire`` if it already is.

    Args:
        burst_size: Bucket capacity in cost units; ``None`` means ``rate.limit``.

    Raises:
        ConfigurationError: ``burst_size`` is not a whole number from 1 to 2**53 or ``None``.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = TokenBucket(burst_size=2), Rate.parse("1/s")
        >>> state, _ = strategy.step(None, 0.0, 2, rate)
        >>> state
        (2000.0, 0.0, 0.0)
        >>> strategy.step(state, 400.0, 1, rate)[1].wait_ms
        600.0
    """

    NAME = "token-bucket"
    __slots__ = ("_burst_size", "_debt")

    def __init__(self, burst_size: int | None = None) -> None:
        self._burst_size = check_optional_positive_int(type(self).__name__, "burst_size", burst_size)
        self._debt = 0

    @property
    def burst_size(self) -> int | None:
        """Capacity in cost units, or ``None`` for ``rate.limit``."""
        return self._burst_size

    def params(self) -> dict[str, Any]:
        """``{"burst_size": ...}``."""
        return {"burst_size": self._burst_size}

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        capacity = self._burst_size or rate.limit
        debt = self._debt
        top = capacity + debt
        per_token = rate.expire / rate.limit
        if state is None or state[0] <= now:
            tokens: float = capacity
            last = now
        else:
            _, tokens, last = state
        if cost > top:
            wait = state[0] - now if state is not None and state[0] > now else float(rate.expire)
            return state, Decision(False, wait, spendable(last, tokens, debt, per_token, now, top))
        if not cost:
            return state, Decision(True, 0.0, spendable(last, tokens, debt, per_token, now, top))
        ready = last + ((cost - debt) - tokens) * per_token
        if ready > now:
            return state, Decision(False, time_until(ready, now), spendable(last, tokens, debt, per_token, now, top))
        tokens += (now - last) / per_token
        if tokens > capacity:
            tokens = capacity
        tokens -= cost
        if tokens < -debt:
            tokens = -debt
        full_at = now + (capacity - tokens) * per_token
        if full_at <= now:
            full_at = math.nextafter(now, math.inf)
        return (full_at, tokens, now), Decision(True, 0.0, spendable(now, tokens, debt, per_token, now, top))

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``tokens`` now, ``capacity``, ``max_debt``, ``full_at`` (ms) and ``refill_per_ms``."""
        capacity = self._burst_size or rate.limit
        per_token = rate.expire / rate.limit
        if state is None or state[0] <= now:
            tokens, full_at = float(capacity), now
        else:
            tokens = min(capacity, state[1] + (now - state[2]) / per_token)
            full_at = state[0]
        return {
            "tokens": tokens,
            "capacity": capacity,
            "max_debt": self._debt,
            "full_at": full_at,
            "refill_per_ms": rate.limit / rate.expire,
        }


class TokenBucketWithDebt(TokenBucket):
    """A token bucket whose tokens may go down to ``-max_debt``.

    A full bucket admits ``capacity + max_debt`` cost at once; the debt is then
    repaid by the refill before anything else passes. Over any interval of
    ``t`` ms it admits at most ``capacity + max_debt + t * limit / expire``
    cost. ``max_debt=0`` behaves exactly like :class:`TokenBucket`. A cost
    larger than ``capacity + max_debt`` can never pass: it is denied with the
    wait until the bucket is full, or one full ``rate.expire`` if it already is.

    Args:
        burst_size: Bucket capacity in cost units; ``None`` means ``rate.limit``.
        max_debt: How far below zero the tokens may go, in cost units.

    Raises:
        ConfigurationError: ``burst_size`` is not a whole number from 1 to 2**53
            or ``None``, or ``max_debt`` is not a whole number from 0 to 2**53.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = TokenBucketWithDebt(max_debt=1), Rate.parse("2/s")
        >>> state, decision = strategy.step(None, 0.0, 3, rate)
        >>> decision.allowed, state
        (True, (1500.0, -1.0, 0.0))
        >>> strategy.step(state, 0.0, 1, rate)[1].wait_ms
        500.0
    """

    NAME = "token-bucket-with-debt"
    __slots__ = ()

    def __init__(self, burst_size: int | None = None, max_debt: int = 0) -> None:
        super().__init__(burst_size)
        self._debt = check_non_negative_int(type(self).__name__, "max_debt", max_debt)

    @property
    def max_debt(self) -> int:
        """How far below zero the tokens may go."""
        return self._debt

    def params(self) -> dict[str, Any]:
        """``{"burst_size": ..., "max_debt": ...}``."""
        return {"burst_size": self._burst_size, "max_debt": self._debt}
