"""The strategies every scenario runs, and the never-reached rate that keeps hits on the writing path."""

from __future__ import annotations

from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    TokenBucketWithDebt,
)
from traffik.strategies._base import ThrottleStrategy

__all__ = ["CONTENDED_RATE", "NEVER_REACHED", "STRATEGIES", "contended", "pick"]

# Never reached in a run, so every hit admits and writes. Not 10**12: near such
# limits some steps take slow float corner cases that no real rate meets.
NEVER_REACHED = Rate(limit=10_000_000, minutes=1)

# The contention scenario's rate: a day-long window, so neither a window edge
# nor a refill falls inside the few seconds a run takes.
CONTENDED_RATE = Rate(limit=200, hours=24)

STRATEGIES: dict[str, ThrottleStrategy] = {
    "FixedWindow": FixedWindow(),
    "SlidingWindowCounter": SlidingWindowCounter(),
    "SlidingWindowLog": SlidingWindowLog(),
    "TokenBucket": TokenBucket(),
    "TokenBucketWithDebt": TokenBucketWithDebt(max_debt=10),
    "LeakyBucket": LeakyBucket(),
    "LeakyBucketWithQueue": LeakyBucketWithQueue(),
    # A burst as long as the window: without it GCRA spaces hits 6 µs apart and
    # a tight loop would see denials, which take the cheaper, non-writing path.
    "GCRA": GCRA(burst_tolerance_ms=60_000),
}


def pick(names: list[str] | None) -> dict[str, ThrottleStrategy]:
    """The strategies named (all of them for ``None``), in the canonical order."""
    wanted = set(names) if names else set(STRATEGIES)
    return {name: strategy for name, strategy in STRATEGIES.items() if name in wanted}


def contended(name: str) -> ThrottleStrategy:
    """The strategy ``name`` as the contention scenario runs it.

    GCRA gets a burst of the whole limit there, so that it too admits ``limit``
    hits at once instead of one, and its count says something about atomicity.
    """
    if name == "GCRA":
        return GCRA(burst_tolerance_ms=CONTENDED_RATE.expire * (CONTENDED_RATE.limit - 1) / CONTENDED_RATE.limit)
    return STRATEGIES[name]
