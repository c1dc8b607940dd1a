"""What the strategy modules share: parameter checks and the rounding policy.

Rounding policy (every strategy follows it, and native implementations must
too):

* **Admission is exact.** Each strategy turns ``(state, cost)`` into the time a
  hit of that cost becomes admissible (its *ready time*) and admits the hit iff
  ``ready <= now``, with no tolerance. The ready time depends on the stored
  state and the cost only, so it comes out bit-for-bit the same when the hit
  is retried later.
* **Waits round up, never down.** A denied hit gets ``wait_ms = ready - now``,
  nudged up by a few units in the last place when ``now + wait_ms`` would
  otherwise round to just below ``ready``. So a retry at exactly
  ``now + wait_ms`` is admitted, and the wait is never more than a few
  floating-point ulps longer than the true one.
* **Remaining hits agree with admission.** ``hits_remaining`` is the largest
  whole cost the same step would admit right now (computed with the same
  ready-time expression), so it never disagrees with the next decision even
  where ``now`` is too coarse to resolve a fraction of a unit (wall-clock
  milliseconds have a resolution of about 2e-4 ms). Where it is only an
  estimate (:func:`whole_units`), :data:`UNIT_TOLERANCE` absorbs float noise.
* **Every search is bounded.** Integers up to :data:`~traffik.rates.MAX_EXACT_INT`
  (2**53) are exact in doubles, and limits, windows and costs never exceed it;
  ``hits_remaining`` never does either (no larger cost can be asked). A search
  for a whole number of units steps a few units from an estimate, then falls
  back to a binary search (its predicate is monotone), so it ends after at
  most about 60 evaluations however far float noise put the estimate: native
  implementations (Lua in Redis, which cannot be interrupted once it has
  written) mirror it.
* **A written state is never already expired.** If ``now + delay`` rounds to
  ``now`` (a tiny delay at a large ``now``), the expiry is moved to the next
  float after ``now``; otherwise a backend would drop the state at once.
"""

from __future__ import annotations

import math
from typing import Final

from traffik.rates import MAX_EXACT_INT
from traffik.validation import non_negative_number, optional, whole_number

__all__ = [
    "CORRECTION_STEPS",
    "TIME_UNTIL_STEPS",
    "UNIT_TOLERANCE",
    "check_non_negative_int",
    "check_non_negative_number",
    "check_optional_positive_int",
    "spendable",
    "time_until",
    "whole_units",
]

UNIT_TOLERANCE: Final = 1e-9
"""Cost units added before rounding ``hits_remaining`` down, to absorb float noise."""
CORRECTION_STEPS: Final = 4
"""Unit steps from an estimate before a search for whole units falls back to a binary search."""
TIME_UNTIL_STEPS: Final = 64
"""At most this many ulps are added to a wait (one or two ever are; the bound makes it certain)."""


def time_until(ready: float, now: float) -> float:
    """Milliseconds from ``now`` until ``ready``, rounded so that ``now + result >= ready``.

    Args:
        ready: The time at which the hit becomes admissible (ms).
        now: The current time (ms).

    Returns:
        ``0.0`` if ``ready <= now``, else the smallest float ``w >= ready - now``
        (up to a few ulps) for which ``now + w >= ready`` holds in floating point.

    Example:
        >>> time_until(1_500.0, 1_000.0)
        500.0
        >>> time_until(900.0, 1_000.0)
        0.0
    """
    if ready <= now:
        return 0.0
    wait = ready - now
    # ready - now is exact when the two are within a factor of two (Sterbenz);
    # otherwise it may round down, and a retry at now + wait would be early.
    for _ in range(TIME_UNTIL_STEPS):
        if now + wait >= ready:
            break
        wait = math.nextafter(wait, math.inf)
    return wait


def spendable(base: float, tokens: float, debt: int, per_unit: float, now: float, top: int) -> int:
    """The largest whole cost ``h <= top`` whose ready time ``base + ((h - debt) - tokens) * per_unit`` is ``<= now``.

    The ready-time form shared by the bucket strategies (token buckets, leaky
    buckets): ``tokens`` available at ``base``, refilled one unit per
    ``per_unit`` ms, may go ``debt`` below zero. The estimate from the refill
    is corrected with the exact expression the step uses for admission.
    ``top`` is capped at :data:`~traffik.rates.MAX_EXACT_INT` (a token bucket's
    capacity plus its debt may exceed it; no larger cost can be asked).

    Example:
        >>> spendable(base=0.0, tokens=1.0, debt=0, per_unit=100.0, now=250.0, top=5)
        3
    """
    if top > MAX_EXACT_INT:
        top = MAX_EXACT_INT
    estimate = (now - base) / per_unit + tokens + debt
    units = int(estimate) if estimate < MAX_EXACT_INT else MAX_EXACT_INT
    if units > top:
        units = top
    elif units < 0:
        units = 0
    # The refill estimate is exact or one off; correct it with the admission
    # formula (monotone in h), stepping a few units, and fall back to a binary
    # search only when float noise (huge limits, wall-clock timestamps) put it
    # further off.
    for _ in range(CORRECTION_STEPS):
        if units > 0 and base + ((units - debt) - tokens) * per_unit > now:
            units -= 1
        elif units < top and base + ((units + 1 - debt) - tokens) * per_unit <= now:
            units += 1
        else:
            return units
    low, high = 0, top
    while low < high:
        middle = low + (high - low + 1) // 2  # the same middle in doubles (Lua) as in ints
        if base + ((middle - debt) - tokens) * per_unit <= now:
            low = middle
        else:
            high = middle - 1
    return low


def whole_units(units: float) -> int:
    """``units`` rounded down to whole cost units (never negative), tolerating float noise.

    Example:
        >>> whole_units(2.9999999999999996)
        3
        >>> whole_units(-0.5)
        0
    """
    whole = math.floor(units + UNIT_TOLERANCE)
    return whole if whole > 0 else 0


_OPTIONAL_POSITIVE_INT: Final = optional(
    whole_number(min=1, max=MAX_EXACT_INT).described(f"a positive whole number up to 2**53 = {MAX_EXACT_INT}")
)
_NON_NEGATIVE_INT: Final = whole_number(min=0, max=MAX_EXACT_INT).described(
    f"a non-negative whole number up to 2**53 = {MAX_EXACT_INT}"
)
_NON_NEGATIVE_MS: Final = non_negative_number(finite=True, max=MAX_EXACT_INT).described(
    f"a finite non-negative number of milliseconds up to 2**53 = {MAX_EXACT_INT}"
)


def check_optional_positive_int(owner: str, name: str, value: object) -> int | None:
    """Return ``value`` if it is ``None`` or an ``int`` from 1 to 2**53; else raise ``ConfigurationError``."""
    return _OPTIONAL_POSITIVE_INT(owner, name, value)


def check_non_negative_int(owner: str, name: str, value: object) -> int:
    """Return ``value`` if it is an ``int`` from 0 to 2**53; else raise ``ConfigurationError``."""
    return _NON_NEGATIVE_INT(owner, name, value)


def check_non_negative_number(owner: str, name: str, value: object) -> float:
    """Return ``value`` as a float if it is a number from 0 to 2**53; else raise ``ConfigurationError``."""
    return _NON_NEGATIVE_MS(owner, name, value)
