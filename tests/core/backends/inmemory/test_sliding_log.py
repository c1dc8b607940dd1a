"""The native sliding-window log against the pure SlidingWindowLog step (differential tests)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.inmemory._sliding_log import NativeLog
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import SlidingWindowLog
from traffik.strategies._base import State

PURE = SlidingWindowLog()


@dataclass(frozen=True)
class Event:
    delta: float
    cost: int
    consume: bool


def events(expire: int, limit: int, backwards: bool = False) -> st.SearchStrategy[list[Event]]:
    low = -expire if backwards else 0
    delta = st.one_of(
        st.just(0.0),  # same timestamp: entries coalesce
        # Steps that make times land exactly on entry expiries (t + expire == now) and next to them.
        st.sampled_from([1.0, expire / 2, expire - 1.0, float(expire), expire + 1.0]),
        st.integers(low, 2 * expire).map(float),
        st.floats(low, 2 * expire, allow_nan=False),
    )
    cost = st.integers(0, limit + 2)  # zero cost and costs that can never pass included
    return st.lists(st.builds(Event, delta, cost, st.booleans() | st.just(True)), max_size=80)


@st.composite
def scenarios(draw: st.DrawFn, backwards: bool = False) -> tuple[Rate, float, list[Event]]:
    expire = draw(st.sampled_from([1, 2, 10, 1_000]) | st.integers(1, 5_000))
    rate = Rate(limit=draw(st.integers(1, 12)), milliseconds=expire)
    start = draw(st.sampled_from([0.0, 1_000_000.0]) | st.floats(0, 1e12, allow_nan=False))
    return rate, start, draw(events(rate.expire, rate.limit, backwards))


def _run_both(rate: Rate, start: float, trace: list[Event]) -> None:
    log = NativeLog()
    state: State | None = None
    now = start
    for event in trace:
        now += event.delta
        expected_state, expected = PURE.step(state, now, event.cost, rate)
        if event.consume:
            got = log.hit(now, event.cost, rate)
            state = expected_state
        else:
            got = log.peek(now, event.cost, rate)
        assert got == expected, (now, event)
        if state is None:
            assert not log
        else:
            assert log.as_state() == state


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_native_log_decides_exactly_like_the_pure_step(scenario: tuple[Rate, float, list[Event]]) -> None:
    _run_both(*scenario)


@settings(max_examples=200, deadline=None)
@given(scenarios(backwards=True))
def test_native_log_agrees_when_the_clock_steps_back(scenario: tuple[Rate, float, list[Event]]) -> None:
    # Denied hits drop nothing in either implementation, so an entry that
    # "expired" can count again after the clock moves back (e.g. a wall clock).
    _run_both(*scenario)


@settings(max_examples=150, deadline=None)
@given(scenarios())
async def test_backend_decides_exactly_like_the_pure_step(scenario: tuple[Rate, float, list[Event]]) -> None:
    rate, start, trace = scenario
    clock = ManualClock(start)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    state: State | None = None
    for event in trace:
        clock.advance(event.delta)
        if event.consume:
            state, expected = PURE.step(state, clock(), event.cost, rate)
            assert await backend.hit("k", PURE, rate, event.cost) == expected
        else:
            assert await backend.peek("k", PURE, rate, event.cost) == PURE.peek(state, clock(), event.cost, rate)
        live = state if state is not None and state[0] > clock() else None
        assert await backend.load_state("k") == live


def test_hot_key_storage_stays_bounded() -> None:
    # A key hit every millisecond for 100 windows keeps ~expire entries alive;
    # the dead prefix is compacted away instead of piling up.
    rate = Rate(limit=1_000, milliseconds=100)
    log = NativeLog()
    for now in range(10_000):
        assert log.hit(float(now), 1, rate).allowed
    live = len(log.as_state()) - 1
    assert live == 2 * 100
    assert len(log.entries) <= 2 * live + 64


async def test_short_logs_stay_compact_tuples_and_long_ones_go_native() -> None:
    clock = ManualClock(1_000.0)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    strategy, rate = SlidingWindowLog(), Rate.parse("100/min")
    reference: tuple[float, ...] | None = None
    for hit in range(20):
        clock.advance(10)  # distinct times: one entry per hit
        reference, expected = strategy.step(reference, clock(), 1, rate)
        decision = await backend.hit("busy", strategy, rate)
        assert (decision.allowed, decision.wait_ms, decision.hits_remaining) == (
            expected.allowed,
            expected.wait_ms,
            expected.hits_remaining,
        )
        native = any(isinstance(shard.get("busy"), NativeLog) for shard in backend._logs)
        assert native == (hit >= 8), hit  # 8 entries fit the tuple; the 9th moves the log
        assert await backend.load_state("busy") == reference
    await backend.hit("quiet", strategy, rate)
    assert not any("quiet" in shard for shard in backend._logs)
