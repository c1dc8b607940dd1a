"""GCRA, the generic cell rate algorithm, in its virtual-scheduling form.

State layout (a contract with native implementations)::

    (tat, tat)

* ``tat``: the theoretical arrival time, when the client would be back to a
  full allowance. It is also the expiry (from ``tat`` on, the state is the
  same as no state), and it is stored twice so that ``state[0]`` keeps meaning
  "expiry" for every strategy.

Reference algorithm, with ``T = rate.expire / rate.limit`` (emission
interval) and ``tau = burst_tolerance_ms``, evaluated in exactly this form::

    tolerance = tau + T
    if cost * T > tolerance:  deny, wait = state[0] - now (rate.expire if fresh)  # can never pass
    if state is None or state[0] <= now:  admit, new tat = now + cost * T
    else:
        tat = state[0]
        ready = (tat + cost * T) - tolerance
        admit iff ready <= now: new tat = tat + cost * T
        else deny, wait = ready - now
    if the new tat rounds to <= now (a tiny cost * T at a large now), it is the next float after now

``hits_remaining`` is the largest whole cost the same expressions would admit
at ``now`` (with the new ``tat`` when admitted).

Rounding (all strategies, see ``traffik/strategies/_support.py``): admission
compares the ready time with ``now`` exactly; ``wait_ms`` is ``ready - now``
rounded up by a few ulps at most so a retry at ``now + wait_ms`` passes; a
written expiry that rounds to ``<= now`` becomes the next float after ``now``.
"""

from __future__ import annotations

import math
from typing import Any

from traffik.rates import MAX_EXACT_INT, Rate
from traffik.strategies._base import Decision, State, ThrottleStrategy
from traffik.strategies._support import CORRECTION_STEPS, check_non_negative_number, time_until

__all__ = ["GCRA"]


class GCRA(ThrottleStrategy):
    """Space hits ``T = expire / limit`` ms apart, tolerating bursts of ``burst_tolerance_ms``.

    A hit of cost ``c`` is admitted iff ``max(tat, now) + c * T - (tau + T) <= now``,
    then ``tat`` moves to ``max(tat, now) + c * T``. With ``tau = 0`` hits are
    strictly one unit per ``T``; a larger ``tau`` lets an idle client send
    ``floor(1 + tau / T)`` units at once. One float of state, exact waits.
    ``tau = expire - T`` makes it the leaky bucket as a meter. A cost with
    ``cost * T > tau + T`` can never pass: it is denied with the wait until
    ``tat`` (the allowance fully restored), or one full ``rate.expire`` if it
    already is.

    Args:
        burst_tolerance_ms: ``tau``, how far ahead of schedule a client may be, in ms.

    Raises:
        ConfigurationError: ``burst_tolerance_ms`` is not a number from 0 to 2**53.

    Example:
        >>> from traffik.rates import Rate
        >>> strategy, rate = GCRA(), Rate.parse("10/s")   # one hit per 100 ms
        >>> state, _ = strategy.step(None, 0.0, 1, rate)
        >>> state
        (100.0, 100.0)
        >>> strategy.step(state, 30.0, 1, rate)[1].wait_ms
        70.0
    """

    NAME = "gcra"
    __slots__ = ("_tau",)

    def __init__(self, burst_tolerance_ms: float = 0) -> None:
        self._tau = check_non_negative_number(type(self).__name__, "burst_tolerance_ms", burst_tolerance_ms)

    @property
    def burst_tolerance_ms(self) -> float:
        """``tau``, how far ahead of schedule a client may be, in ms."""
        return self._tau

    def params(self) -> dict[str, Any]:
        """``{"burst_tolerance_ms": ...}``."""
        return {"burst_tolerance_ms": self._tau}

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        """Apply one hit; see the module docstring for the algorithm."""
        interval = rate.expire / rate.limit
        tolerance = self._tau + interval
        live = state is not None and state[0] > now
        tat = state[0] if live and state is not None else now
        if cost * interval > tolerance:
            wait = tat - now if live else float(rate.expire)
            return state, Decision(False, wait, _spendable(tat, live, interval, tolerance, now))
        if not cost:
            return state, Decision(True, 0.0, _spendable(tat, live, interval, tolerance, now))
        if live:
            ready = (tat + cost * interval) - tolerance
            if ready > now:
                return state, Decision(False, time_until(ready, now), _spendable(tat, live, interval, tolerance, now))
        tat += cost * interval
        if tat <= now:
            tat = math.nextafter(now, math.inf)
        return (tat, tat), Decision(True, 0.0, _spendable(tat, True, interval, tolerance, now))

    def describe(self, state: State | None, now: float, rate: Rate) -> dict[str, Any]:
        """``tat`` (ms), ``emission_interval_ms``, ``burst_tolerance_ms`` and ``burst`` (units sendable at once)."""
        interval = rate.expire / rate.limit
        tat = state[0] if state is not None and state[0] > now else now
        return {
            "tat": tat,
            "emission_interval_ms": interval,
            "burst_tolerance_ms": self._tau,
            "burst": _spendable(now, False, interval, self._tau + interval, now),
        }


def _spendable(tat: float, live: bool, interval: float, tolerance: float, now: float) -> int:
    """The largest whole cost the step would admit now (same expressions as the step), at most 2**53.

    Both conditions only fail more as the cost grows, so the admitted costs
    are ``0..h*``: a few unit steps from the estimate, then a binary search
    (a huge ``burst_tolerance_ms`` over a tiny interval puts ``h*`` beyond any
    cost that can be asked: it is capped at :data:`~traffik.rates.MAX_EXACT_INT`).
    """
    estimate = (now - tat + tolerance) / interval
    units = int(estimate) if estimate < MAX_EXACT_INT else MAX_EXACT_INT
    if units < 0:
        units = 0
    for _ in range(CORRECTION_STEPS):
        if units > 0 and (units * interval > tolerance or (live and (tat + units * interval) - tolerance > now)):
            units -= 1
        elif (
            units < MAX_EXACT_INT
            and (units + 1) * interval <= tolerance
            and (not live or (tat + (units + 1) * interval) - tolerance <= now)
        ):
            units += 1
        else:
            return units
    low, high = 0, MAX_EXACT_INT
    while low < high:
        middle = low + (high - low + 1) // 2
        if middle * interval <= tolerance and (not live or (tat + middle * interval) - tolerance <= now):
            low = middle
        else:
            high = middle - 1
    return low
