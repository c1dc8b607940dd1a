"""Worked examples, one small scenario per behaviour, with numbers checked by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    Decision,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    State,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)


def hits(
    strategy: ThrottleStrategy, rate: Rate, events: Sequence[tuple[float, int]], state: State | None = None
) -> tuple[State | None, list[Decision]]:
    """Apply ``(now, cost)`` events in order and return the final state and every decision."""
    decisions = []
    for now, cost in events:
        state, decision = strategy.step(state, now, cost, rate)
        decisions.append(decision)
    return state, decisions


def outcome(decision: Decision) -> tuple[bool, float, float]:
    return decision.allowed, decision.wait_ms, decision.hits_remaining


class TestFixedWindow:
    rate = Rate.parse("3/s")

    def test_counts_up_to_the_limit_then_waits_for_the_window_end(self) -> None:
        _, decisions = hits(FixedWindow(), self.rate, [(0, 1), (100, 1), (200, 1), (999, 1), (1_000, 1)])
        assert [outcome(d) for d in decisions] == [
            (True, 0, 2),
            (True, 0, 1),
            (True, 0, 0),
            (False, 1, 0),
            (True, 0, 2),
        ]

    def test_windows_are_aligned_to_multiples_of_expire(self) -> None:
        state, _ = hits(FixedWindow(), self.rate, [(2_500.5, 1)])
        expected: State = (3_000.0, 1)
        assert state == expected
        assert FixedWindow().describe(state, 2_600.0, self.rate) == {
            "window_start": 2_000.0,
            "window_end": 3_000.0,
            "count": 1,
            "limit": 3,
        }

    def test_a_cost_that_does_not_fit_waits_for_the_next_window(self) -> None:
        state, _ = hits(FixedWindow(), self.rate, [(0, 2)])
        assert outcome(FixedWindow().step(state, 400, 2, self.rate)[1]) == (False, 600, 1)

    def test_allows_a_double_burst_across_a_window_boundary(self) -> None:
        _, decisions = hits(FixedWindow(), self.rate, [(999, 3), (1_000, 3)])
        assert all(d.allowed for d in decisions)


class TestSlidingWindowCounter:
    rate = Rate.parse("4/s")

    def test_weights_the_previous_window_by_its_remaining_overlap(self) -> None:
        state: State = (2_000.0, 0.0, 0.0, 4.0)
        described = SlidingWindowCounter().describe(state, 1_500.0, self.rate)
        assert described["estimate"] == 2.0
        assert (described["previous"], described["current"]) == (4.0, 0.0)
        assert outcome(SlidingWindowCounter().step(state, 1_500.0, 2, self.rate)[1]) == (True, 0, 0)

    def test_wait_may_end_inside_the_next_window(self) -> None:
        # 4 hits in [0, 1000): the estimate reaches 3 (room for 1) at 1000 + 1000 * (1 - 3/4).
        state: State = (2_000.0, 0.0, 0.0, 4.0)
        assert outcome(SlidingWindowCounter().step(state, 500.0, 1, self.rate)[1]) == (False, 750, 0)
        assert SlidingWindowCounter().step(state, 1_250.0, 1, self.rate)[1].allowed

    def test_admitting_in_a_new_window_rolls_the_counts(self) -> None:
        state: State = (2_000.0, 0.0, 0.0, 4.0)
        new_state, decision = SlidingWindowCounter().step(state, 1_500.0, 1, self.rate)
        assert new_state == (3_000.0, 1_000.0, 4.0, 1.0)
        assert decision.hits_remaining == 1

    def test_oversized_cost_waits_for_the_state_to_expire(self) -> None:
        state: State = (2_000.0, 0.0, 0.0, 4.0)
        assert outcome(SlidingWindowCounter().step(state, 500.0, 5, self.rate)[1]) == (False, 1_500, 0)


class TestSlidingWindowLog:
    rate = Rate.parse("2/s")

    def test_waits_for_the_oldest_entry_to_leave_the_window(self) -> None:
        state, decisions = hits(SlidingWindowLog(), self.rate, [(100, 1), (400, 1), (900, 1), (1_100, 1)])
        assert [outcome(d) for d in decisions] == [(True, 0, 1), (True, 0, 0), (False, 200, 0), (True, 0, 0)]
        assert state == (2_100.0, 400, 1, 1_100, 1)

    def test_a_larger_cost_waits_for_enough_entries_to_expire(self) -> None:
        state, _ = hits(SlidingWindowLog(), self.rate, [(100, 1), (400, 1)])
        assert outcome(SlidingWindowLog().step(state, 900, 2, self.rate)[1]) == (False, 500, 0)

    def test_hits_at_the_same_timestamp_share_one_entry(self) -> None:
        state, _ = hits(SlidingWindowLog(), self.rate, [(100, 1), (100, 1)])
        assert state == (1_100, 100, 2)

    def test_describe_reports_the_live_log(self) -> None:
        state, _ = hits(SlidingWindowLog(), self.rate, [(100, 1), (400, 1)])
        assert SlidingWindowLog().describe(state, 1_200, self.rate) == {
            "used": 1,
            "entries": 1,
            "oldest": 400,
            "next_expiry": 1_400,
            "limit": 2,
        }


class TestTokenBucket:
    rate = Rate.parse("1/s")

    def test_starts_full_then_refills_one_token_per_period(self) -> None:
        strategy = TokenBucket(burst_size=2)
        state, decisions = hits(strategy, self.rate, [(0, 1), (0, 1), (0, 1), (1_500, 1)])
        assert [outcome(d) for d in decisions] == [(True, 0, 1), (True, 0, 0), (False, 1_000, 0), (True, 0, 0)]
        # 1.5 tokens refilled, 1 spent: full again 1.5 s later.
        assert state == (3_000.0, 0.5, 1_500)

    def test_capacity_defaults_to_the_rate_limit(self) -> None:
        _, decisions = hits(TokenBucket(), Rate.parse("3/s"), [(0, 3), (0, 1)])
        assert [d.allowed for d in decisions] == [True, False]
        assert decisions[1].wait_ms == pytest.approx(1_000 / 3)

    def test_describe_reports_tokens_and_refill(self) -> None:
        state, _ = hits(TokenBucket(burst_size=2), self.rate, [(0, 2)])
        assert TokenBucket(burst_size=2).describe(state, 500, self.rate) == {
            "tokens": 0.5,
            "capacity": 2,
            "max_debt": 0,
            "full_at": 2_000.0,
            "refill_per_ms": 0.001,
        }


class TestTokenBucketWithDebt:
    rate = Rate.parse("2/s")

    def test_allows_capacity_plus_debt_then_repays_the_debt(self) -> None:
        strategy = TokenBucketWithDebt(max_debt=2)
        events = [(0, 1), (0, 1), (0, 1), (0, 1), (0, 1), (499, 1), (500, 1), (500, 1)]
        _, decisions = hits(strategy, self.rate, events)
        assert [d.allowed for d in decisions] == [True, True, True, True, False, False, True, False]
        # Capacity 2 plus debt 2 at once; then tokens sit at the floor, -2, and a
        # hit needs -2 + 1 refilled token (500 ms) to pass without going below it.
        assert [d.wait_ms for d in decisions[4:6]] == [500, 1]
        assert decisions[7].wait_ms == 500

    def test_zero_debt_is_a_plain_token_bucket(self) -> None:
        events = [(0, 2), (100, 1), (600, 1), (700, 2)]
        assert hits(TokenBucketWithDebt(), self.rate, events) == hits(TokenBucket(), self.rate, events)


class TestLeakyBucket:
    rate = Rate.parse("4/s")

    def test_overflowing_hit_waits_until_enough_has_leaked(self) -> None:
        state, decisions = hits(LeakyBucket(), self.rate, [(0, 4), (100, 2), (500, 2)])
        assert [outcome(d) for d in decisions] == [(True, 0, 0), (False, 400, 0), (True, 0, 0)]
        assert state == (1_500.0, 4.0, 500)

    def test_describe_reports_the_level(self) -> None:
        state, _ = hits(LeakyBucket(), self.rate, [(0, 4)])
        assert LeakyBucket().describe(state, 250, self.rate) == {
            "level": 3.0,
            "capacity": 4,
            "empty_at": 1_000.0,
            "leak_per_ms": 0.004,
        }


class TestLeakyBucketWithQueue:
    rate = Rate.parse("4/s")

    def test_queue_delay_grows_one_drain_interval_per_queued_unit(self) -> None:
        _, decisions = hits(LeakyBucketWithQueue(), self.rate, [(0, 1)] * 5)
        delays = [d.metadata["queue_delay_ms"] if d.metadata else None for d in decisions[:4]]
        assert delays == [0, 250, 500, 750]
        assert outcome(decisions[4]) == (False, 250, 0)

    def test_describe_reports_the_delay_for_a_hit_arriving_now(self) -> None:
        state, _ = hits(LeakyBucketWithQueue(), self.rate, [(0, 3)])
        assert LeakyBucketWithQueue().describe(state, 100, self.rate) == {
            "queue_delay_ms": 650.0,
            "queued": 2.6,
            "depth": 4,
            "next_free": 750.0,
        }


class TestGCRA:
    rate = Rate.parse("10/s")

    def test_without_tolerance_hits_are_one_interval_apart(self) -> None:
        _, decisions = hits(GCRA(), self.rate, [(0, 1), (100, 1), (150, 1), (200, 1)])
        assert [outcome(d) for d in decisions] == [(True, 0, 0), (True, 0, 0), (False, 50, 0), (True, 0, 0)]

    def test_tolerance_allows_a_burst(self) -> None:
        # tau = 250 ms, T = 100 ms: floor(1 + 250 / 100) = 3 units at once.
        strategy = GCRA(burst_tolerance_ms=250)
        state, decisions = hits(strategy, self.rate, [(0, 1), (0, 1), (0, 1), (0, 1)])
        assert [outcome(d) for d in decisions] == [(True, 0, 2), (True, 0, 1), (True, 0, 0), (False, 50, 0)]
        assert state == (300.0, 300.0)
        assert strategy.describe(None, 0, self.rate)["burst"] == 3

    def test_a_cost_beyond_the_burst_can_never_pass(self) -> None:
        state, _ = hits(GCRA(), self.rate, [(0, 1)])
        assert outcome(GCRA().step(state, 50, 2, self.rate)[1]) == (False, 50, 0)
        assert outcome(GCRA().step(None, 50, 2, self.rate)[1]) == (False, 1_000, 1)
