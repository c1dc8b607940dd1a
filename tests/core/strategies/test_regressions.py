"""Regressions found while wiring the strategies into backends."""

from __future__ import annotations

import pytest
from traffik import Rate
from traffik.strategies import GCRA, LeakyBucket, LeakyBucketWithQueue, SlidingWindowLog, TokenBucket
from traffik.strategies._base import ThrottleStrategy
from traffik.strategies._support import spendable


def test_sliding_log_survives_a_rate_swap_to_a_shorter_window() -> None:
    strategy, state = SlidingWindowLog(), None
    for t in range(5):
        state, decision = strategy.step(state, 1_000.0 + t, 1, Rate.parse("5/min"))
        assert decision.allowed
    # Every logged entry is older than the new 1 s window: the quota is whole again.
    state, decision = strategy.step(state, 3_000.0, 1, Rate.parse("5/s"))
    assert decision.allowed
    assert decision.hits_remaining == 4
    assert state == (4_000.0, 3_000.0, 1)


@pytest.mark.parametrize(
    "strategy", [TokenBucket(), LeakyBucket(), LeakyBucketWithQueue(), GCRA()], ids=lambda s: type(s).__name__
)
def test_huge_limits_at_wall_clock_times_stay_admitted(strategy: ThrottleStrategy) -> None:
    rate, state, now = Rate(limit=10**12, minutes=1), None, 1.7e12
    for i in range(200):
        state, decision = strategy.step(state, now + i * 0.001, 1, rate)
        assert decision.allowed
        assert decision.wait_ms == 0


def test_spendable_agrees_with_the_admission_formula_when_the_estimate_is_far_off() -> None:
    base, tokens, per_unit, now = 1.7e12, 5.0, 6e-8, 1.7e12 + 0.25
    units = spendable(base, tokens, 0, per_unit, now, 10**12)
    assert base + (units - tokens) * per_unit <= now
    assert base + (units + 1 - tokens) * per_unit > now
