"""``InMemoryBackend._hit_now`` (a throttle's coroutine-free call) decides exactly as ``hit``."""

from __future__ import annotations

import random

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)

STRATEGIES = [
    FixedWindow(),
    SlidingWindowCounter(),
    SlidingWindowLog(),
    TokenBucket(),
    TokenBucketWithDebt(),
    LeakyBucket(),
    LeakyBucketWithQueue(),
    GCRA(),
]


@pytest.mark.parametrize("max_keys", [None, 3], ids=["unbounded", "max_keys"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=[type(s).__name__ for s in STRATEGIES])
async def test_the_same_hits_get_the_same_decisions(strategy: ThrottleStrategy, max_keys: int | None) -> None:
    awaited_clock, direct_clock = ManualClock(1_000_000.0), ManualClock(1_000_000.0)
    awaited = InMemoryBackend(clock=awaited_clock, cleanup_frequency=None, max_keys=max_keys)
    direct = InMemoryBackend(clock=direct_clock, cleanup_frequency=None, max_keys=max_keys)
    rates = [Rate(limit=5, seconds=10), Rate(), Rate(limit=3, minutes=1)]  # Rate(): unlimited
    events = random.Random(7)
    for _ in range(400):
        key, rate, cost = f"k{events.randrange(5)}", events.choice(rates), events.choice([0, 1, 1, 2, 7])
        expected = await awaited.hit(key, strategy, rate, cost)
        got = direct._hit_now(key, strategy, rate, cost)
        assert (got.allowed, got.wait_ms, got.hits_remaining, got.reset_ms, got.metadata) == (
            expected.allowed,
            expected.wait_ms,
            expected.hits_remaining,
            expected.reset_ms,
            expected.metadata,
        )
        step = events.choice([0.0, 1.0, 250.0, 3_000.0])
        awaited_clock.advance(step)
        direct_clock.advance(step)
