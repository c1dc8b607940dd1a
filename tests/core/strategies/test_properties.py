"""Property tests of every strategy's pure step on random sequences of (time delta, cost) events.

The first group checks the contract every strategy shares (parametrized over
all of them, one test id each); the second checks each strategy's own promise.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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

PROPERTY_SETTINGS = settings(deadline=None, max_examples=100)

# Slack for bounds that involve float arithmetic (ms, or cost units); far below one unit or one ms.
TOLERANCE = 1e-6


def time_slack(now: float) -> float:
    """Slack in ms for time bounds: times near ``now`` are only resolved to ``math.ulp(now)``."""
    return TOLERANCE + 4 * math.ulp(now)


ALL_STRATEGIES = [
    pytest.param(FixedWindow(), id="fixed-window"),
    pytest.param(SlidingWindowCounter(), id="sliding-window-counter"),
    pytest.param(SlidingWindowLog(), id="sliding-window-log"),
    pytest.param(TokenBucket(), id="token-bucket"),
    pytest.param(TokenBucket(burst_size=3), id="token-bucket-burst-3"),
    pytest.param(TokenBucketWithDebt(max_debt=2), id="token-bucket-with-debt"),
    pytest.param(TokenBucketWithDebt(burst_size=1, max_debt=3), id="token-bucket-with-debt-burst-1"),
    pytest.param(LeakyBucket(), id="leaky-bucket"),
    pytest.param(LeakyBucketWithQueue(), id="leaky-bucket-with-queue"),
    pytest.param(GCRA(), id="gcra"),
    pytest.param(GCRA(burst_tolerance_ms=250), id="gcra-tolerance-250"),
]

# "wait" means: advance by the wait of the last denied hit, to land exactly on boundaries.
Delta = Union[float, str]


@dataclass(frozen=True)
class Scenario:
    rate: Rate
    start: float
    events: list[tuple[Delta, int]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    limit = draw(st.integers(1, 10))
    expire = draw(st.sampled_from([1, 3, 10, 100, 999, 1_000, 60_000]))
    # Wall-clock milliseconds (~1.7e12) included: float rounding is coarsest there.
    start = draw(st.sampled_from([0.0, 5_000.0, 1_234.567, 1.7e12, 1.7e12 + 0.3]))
    delta = st.one_of(
        st.just(0),
        st.just("wait"),
        st.integers(0, 2 * expire),
        st.floats(0, 2 * expire, allow_nan=False, allow_infinity=False),
    )
    cost = st.one_of(st.just(1), st.integers(0, limit + 2))
    events = draw(st.lists(st.tuples(delta, cost), max_size=30))
    return Scenario(Rate(limit=limit, milliseconds=expire), start, events)


@dataclass(frozen=True)
class Step:
    now: float
    cost: int
    before: State | None
    after: State | None
    decision: Decision


def run(strategy: ThrottleStrategy, scenario: Scenario) -> list[Step]:
    """Apply the scenario's events in order, as a backend would, and record every step."""
    state: State | None = None
    now = scenario.start
    last_wait = 0.0
    steps = []
    for delta, cost in scenario.events:
        now += last_wait if delta == "wait" else float(delta)
        new_state, decision = strategy.step(state, now, cost, scenario.rate)
        steps.append(Step(now, cost, state, new_state, decision))
        if not decision.allowed:
            last_wait = decision.wait_ms
        state = new_state
    return steps


def capacity(strategy: ThrottleStrategy, rate: Rate) -> int:
    """The largest cost that can ever pass."""
    if isinstance(strategy, TokenBucketWithDebt):
        return (strategy.burst_size or rate.limit) + strategy.max_debt
    if isinstance(strategy, TokenBucket):
        return strategy.burst_size or rate.limit
    if isinstance(strategy, GCRA):
        interval = rate.expire / rate.limit
        units = 1
        while (units + 1) * interval <= strategy.burst_tolerance_ms + interval:
            units += 1
        return units
    return rate.limit


def admitted(steps: list[Step]) -> list[Step]:
    return [step for step in steps if step.decision.allowed and step.cost > 0]


def is_live(state: State | None, now: float) -> bool:
    return state is not None and state[0] > now


# -- the contract every strategy shares ------------------------------------


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_decisions_are_well_formed(strategy: ThrottleStrategy, scenario: Scenario) -> None:
    for step in run(strategy, scenario):
        decision = step.decision
        assert decision.wait_ms >= 0
        assert decision.hits_remaining >= 0
        if decision.allowed:
            assert decision.wait_ms == 0
            if step.cost:
                assert step.after is not None
                assert step.after[0] > step.now, "a written state must not be expired already"
        else:
            assert step.after is step.before, "a denied hit must return the same state object"
            assert decision.wait_ms > 0


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_zero_cost_passes_and_consumes_nothing(strategy: ThrottleStrategy, scenario: Scenario) -> None:
    for step in run(strategy, scenario):
        if step.cost == 0:
            assert step.decision.allowed
            assert step.after is step.before


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_denied_hit_passes_exactly_after_its_wait(strategy: ThrottleStrategy, scenario: Scenario) -> None:
    rate = scenario.rate
    for step in run(strategy, scenario):
        decision = step.decision
        if decision.allowed or step.cost > capacity(strategy, rate):
            continue
        retry_at = step.now + decision.wait_ms
        assert strategy.step(step.before, retry_at, step.cost, rate)[1].allowed
        if decision.wait_ms > 1:
            assert not strategy.step(step.before, retry_at - 1, step.cost, rate)[1].allowed


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_oversized_cost_is_denied_until_the_quota_is_restored(strategy: ThrottleStrategy, scenario: Scenario) -> None:
    rate = scenario.rate
    for step in run(strategy, scenario):
        if step.cost <= capacity(strategy, rate):
            continue
        assert not step.decision.allowed
        if is_live(step.before, step.now):
            assert step.before is not None
            expected = step.before[0] - step.now
        elif isinstance(strategy, FixedWindow):
            expected = (step.now // rate.expire + 1) * rate.expire - step.now
        else:
            expected = rate.expire
        # Exactly the time until restoration, give or take the ulp-rounding of waits.
        assert expected <= step.decision.wait_ms <= expected + time_slack(step.now)
        later = strategy.step(step.before, step.now + step.decision.wait_ms, step.cost, rate)[1]
        assert not later.allowed


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios(), extra=st.sampled_from([0.0, 0.5, 1.0, 12_345.0]))
def test_expired_state_behaves_like_no_state(strategy: ThrottleStrategy, scenario: Scenario, extra: float) -> None:
    rate = scenario.rate
    for step in run(strategy, scenario):
        state = step.after
        if state is None:
            continue
        at = state[0] + extra
        for cost in (1, capacity(strategy, rate)):
            from_expired = strategy.step(state, at, cost, rate)
            from_nothing = strategy.step(None, at, cost, rate)
            assert from_expired[1] == from_nothing[1]
            if from_nothing[1].allowed:
                assert from_expired[0] == from_nothing[0]
        assert strategy.describe(state, at, rate) == strategy.describe(None, at, rate)


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios(), peek_cost=st.integers(0, 12))
def test_peek_changes_nothing(strategy: ThrottleStrategy, scenario: Scenario, peek_cost: int) -> None:
    rate = scenario.rate
    for step in run(strategy, scenario):
        before = step.before
        snapshot = None if before is None else tuple(before)
        peeked = strategy.peek(before, step.now, peek_cost, rate)
        assert peeked == strategy.step(before, step.now, peek_cost, rate)[1]
        assert before == snapshot
        # The real step, taken after the peek, is the one the run recorded.
        assert strategy.step(before, step.now, step.cost, rate) == (step.after, step.decision)


@pytest.mark.parametrize("strategy", ALL_STRATEGIES)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_hits_remaining_can_be_spent_right_now(strategy: ThrottleStrategy, scenario: Scenario) -> None:
    rate = scenario.rate
    top = capacity(strategy, rate)
    for step in run(strategy, scenario):
        remaining = int(step.decision.hits_remaining)
        assert remaining == step.decision.hits_remaining
        assert remaining <= top
        if remaining >= 1:
            assert strategy.step(step.after, step.now, remaining, rate)[1].allowed
        if remaining + 1 <= top:
            assert not strategy.step(step.after, step.now, remaining + 1, rate)[1].allowed


# -- each strategy's own promise ---------------------------------------------


def cost_between(steps: list[Step], first: Step, last: Step) -> int:
    """Cost admitted at times in ``[first.now, last.now]``."""
    return sum(step.cost for step in steps if first.now <= step.now <= last.now)


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_fixed_window_admits_at_most_limit_per_aligned_window(scenario: Scenario) -> None:
    rate = scenario.rate
    per_window: dict[float, int] = {}
    for step in admitted(run(FixedWindow(), scenario)):
        window = step.now // rate.expire
        per_window[window] = per_window.get(window, 0) + step.cost
    assert all(total <= rate.limit for total in per_window.values())


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_sliding_window_log_admits_at_most_limit_in_any_window(scenario: Scenario) -> None:
    rate = scenario.rate
    hits = admitted(run(SlidingWindowLog(), scenario))
    for end in hits:
        # An interval of length expire ending at an admitted hit: entries at t count during [t, t + expire).
        total = sum(hit.cost for hit in hits if hit.now <= end.now < hit.now + rate.expire)
        assert total <= rate.limit


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_sliding_window_log_state_is_an_ascending_coalesced_log(scenario: Scenario) -> None:
    for step in run(SlidingWindowLog(), scenario):
        state = step.after
        if state is None or state is step.before:
            continue
        times = state[1::2]
        assert list(times) == sorted(set(times))
        assert all(cost > 0 for cost in state[2::2])
        assert state[0] == times[-1] + scenario.rate.expire


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_sliding_window_counter_estimate_stays_within_limit_after_admit(scenario: Scenario) -> None:
    strategy, rate = SlidingWindowCounter(), scenario.rate
    for step in admitted(run(strategy, scenario)):
        # The estimate moves by up to limit / expire per ms: allow what the clock cannot resolve.
        slack = TOLERANCE + rate.limit * time_slack(step.now) / rate.expire
        assert strategy.describe(step.after, step.now, rate)["estimate"] <= rate.limit + slack


BUCKETS = [
    pytest.param(TokenBucket(), id="token-bucket"),
    pytest.param(TokenBucket(burst_size=3), id="token-bucket-burst-3"),
    pytest.param(TokenBucketWithDebt(max_debt=2), id="token-bucket-with-debt"),
    pytest.param(TokenBucketWithDebt(burst_size=1, max_debt=3), id="token-bucket-with-debt-burst-1"),
    pytest.param(LeakyBucket(), id="leaky-bucket"),
    pytest.param(LeakyBucketWithQueue(), id="leaky-bucket-with-queue"),
]


@pytest.mark.parametrize("strategy", BUCKETS)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_bucket_admits_at_most_capacity_plus_refill_in_any_interval(
    strategy: ThrottleStrategy, scenario: Scenario
) -> None:
    rate = scenario.rate
    per_ms = rate.limit / rate.expire
    hits = admitted(run(strategy, scenario))
    for index, first in enumerate(hits):
        for last in hits[index:]:
            total = cost_between(hits, first, last)
            bound = capacity(strategy, rate) + (last.now - first.now + time_slack(last.now)) * per_ms
            assert total <= bound + TOLERANCE


@pytest.mark.parametrize("strategy", [pytest.param(TokenBucket(burst_size=3), id="token-bucket-burst-3")])
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_token_bucket_tokens_stay_between_debt_floor_and_capacity(strategy: TokenBucket, scenario: Scenario) -> None:
    rate = scenario.rate
    for step in admitted(run(strategy, scenario)):
        assert step.after is not None
        tokens = step.after[1]
        assert 0 <= tokens <= (strategy.burst_size or rate.limit) - step.cost + TOLERANCE


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_leaky_bucket_level_never_exceeds_capacity(scenario: Scenario) -> None:
    strategy, rate = LeakyBucket(), scenario.rate
    for step in admitted(run(strategy, scenario)):
        level = strategy.describe(step.after, step.now, rate)["level"]
        assert step.cost - TOLERANCE <= level <= rate.limit


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_leaky_bucket_queue_releases_fifo_at_the_drain_rate_within_one_window(scenario: Scenario) -> None:
    rate = scenario.rate
    per_unit = rate.expire / rate.limit
    hits = admitted(run(LeakyBucketWithQueue(), scenario))
    previous_release, previous_cost = -float("inf"), 0
    for step in hits:
        assert step.decision.metadata is not None
        delay = step.decision.metadata["queue_delay_ms"]
        assert delay >= 0
        # Released once everything ahead drained, and fully drained within one window.
        assert delay + step.cost * per_unit <= rate.expire + time_slack(step.now)
        release = step.now + delay
        assert release >= previous_release + previous_cost * per_unit - time_slack(step.now)
        previous_release, previous_cost = release, step.cost


GCRAS = [
    pytest.param(GCRA(), id="gcra"),
    pytest.param(GCRA(burst_tolerance_ms=250), id="gcra-tolerance-250"),
    pytest.param(GCRA(burst_tolerance_ms=1_000.5), id="gcra-tolerance-1000.5"),
]


@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_gcra_without_tolerance_spaces_hits_one_interval_apart(scenario: Scenario) -> None:
    rate = scenario.rate
    interval = rate.expire / rate.limit
    hits = admitted(run(GCRA(), scenario))
    assert all(step.cost == 1 for step in hits)
    for earlier, later in itertools.pairwise(hits):
        assert later.now - earlier.now >= interval - time_slack(later.now)


@pytest.mark.parametrize("strategy", GCRAS)
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_gcra_admits_at_most_its_arrival_curve(strategy: GCRA, scenario: Scenario) -> None:
    rate = scenario.rate
    interval = rate.expire / rate.limit
    hits = admitted(run(strategy, scenario))
    for index, first in enumerate(hits):
        for last in hits[index:]:
            total = cost_between(hits, first, last)
            bound = 1 + (last.now - first.now + strategy.burst_tolerance_ms + time_slack(last.now)) / interval
            assert total <= bound + TOLERANCE
