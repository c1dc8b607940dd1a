"""The Memcached sliding-window log stays bounded: exact while short, compacted (never more permissive) when long."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.backends.base import encode_state
from traffik.backends.memcached._sliding_log import COMPACTED_ENTRIES, MAX_LOG_ENTRIES, SLIDING_LOG_RUNNER, compact
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import SlidingWindowLog
from traffik.strategies._base import State

from tests.memcached.conftest import BackendFactory

pytestmark = pytest.mark.memcached

LOG = SlidingWindowLog()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 60_000, allow_nan=False), st.integers(1, 5)), min_size=1, max_size=3_000),
    st.sampled_from([1_000, 60_000, 3_600_000]),
)
def test_compaction_keeps_cost_and_expiry_and_only_delays(raw: list[tuple[float, int]], expire: int) -> None:
    times = sorted({time * expire / 60_000 for time, _ in raw})
    costs = [cost for _, cost in raw][: len(times)]
    state: State = (times[-1] + expire, *itertools.chain.from_iterable(zip(times, costs, strict=True)))
    merged = compact(state, expire)
    assert merged[0] == state[0]
    assert merged[-2] == state[-2]  # the newest entry keeps its time
    assert sum(merged[2::2]) == sum(state[2::2])
    assert list(merged[1::2]) == sorted(set(merged[1::2]))
    assert len(merged) <= 2 * (COMPACTED_ENTRIES + 1) + 1
    # Conservative: at any time, the merged log counts at least the cost the exact log counts.
    for probe in times:
        exact = sum(c for t, c in zip(state[1::2], state[2::2], strict=True) if t <= probe)
        kept = sum(c for t, c in zip(merged[1::2], merged[2::2], strict=True) if t <= probe)
        assert kept <= exact  # entries moved later, never earlier


def test_decisions_are_exact_while_the_log_is_short() -> None:
    rate = Rate.parse("2000/min")
    reference = runner = None
    for n in range(MAX_LOG_ENTRIES):
        now = 1_000_000.0 + n * 7.5  # one entry per hit, all in one window
        reference, expected = LOG.step(reference, now, 1 + n % 2, rate)
        runner, decision = SLIDING_LOG_RUNNER.step(LOG, runner, now, 1 + n % 2, rate, "k")
        assert decision == expected
        assert runner == reference


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(1, 3)), min_size=1, max_size=4_000))
def test_a_compacted_log_never_admits_more_than_the_limit_in_any_window(hits: list[tuple[int, int]]) -> None:
    rate = Rate(limit=1_500, seconds=10)
    state, now, admitted = None, 1_000_000.0, []
    for advance, cost in hits:
        now += advance
        state, decision = SLIDING_LOG_RUNNER.step(LOG, state, now, cost, rate, "k")
        if decision.allowed:
            admitted.append((now, cost))
        assert state is None or len(state) <= 2 * MAX_LOG_ENTRIES + 1
    start = 0
    total = 0
    for end_time, cost in admitted:
        total += cost
        while admitted[start][0] + rate.expire <= end_time:
            total -= admitted[start][1]
            start += 1
        assert total <= rate.limit


async def test_a_log_past_the_item_limit_keeps_recording(make_backend: BackendFactory, clock: ManualClock) -> None:
    backend = make_backend()
    rate = Rate(limit=50_000, hours=1)
    # What ~46,000 hits at distinct times in the last half hour leave: close to memcached's 1 MB item limit.
    start = clock() - 1_800_000
    seeded = 46_000
    times = [start + n * 37.123_456 for n in range(seeded)]
    state: State = (times[-1] + rate.expire, *itertools.chain.from_iterable((t, 1.0) for t in times))
    client, key = await backend.locate(LOG.NAME, "heavy")
    value = encode_state(state)
    assert len(value) > 1_000_000
    assert await client.set(key, value, 3_600)
    used = seeded
    for _ in range(200):  # each at a new instant: one more entry each, past the 1 MB limit
        clock.advance(3)
        decision = await backend.hit("heavy", LOG, rate)
        used += 1
        assert decision.allowed
        assert decision.hits_remaining == rate.limit - used
    raw = await client.get(key)
    assert raw is not None
    assert len(raw) < 30_000  # compacted: bounded whatever the limit
    # Recording continues up to the limit, and not one hit beyond it.
    assert (await backend.hit("heavy", LOG, rate, cost=rate.limit - used)).allowed
    assert not (await backend.hit("heavy", LOG, rate)).allowed
    assert (await backend.peek("heavy", LOG, rate)).hits_remaining == 0
