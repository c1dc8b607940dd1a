"""The in-memory hit path: decisions, expiry, namespaces, atomicity under concurrency."""

from __future__ import annotations

import asyncio

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog, ThrottleStrategy
from traffik.strategies._base import UNLIMITED_DECISION, Decision, State

RATE = Rate.parse("100/min")
KEY = "inmemory:api:203.0.113.7:GET:/items"


class CountingStrategy(ThrottleStrategy):
    """A fixed window that records how often its step runs and the states it saw."""

    NAME = "counting"

    def __init__(self) -> None:
        self.seen: list[State | None] = []

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        self.seen.append(state)
        return FixedWindow().step(state, now, cost, rate)


@pytest.mark.parametrize("strategy", [FixedWindow(), SlidingWindowLog()], ids=["fixed-window", "sliding-window-log"])
async def test_hits_match_the_pure_step(
    backend: InMemoryBackend, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    rate = Rate.parse("3/s")
    state: State | None = None
    for advance in [0, 100, 100, 100, 250, 600, 1, 1000, 0, 0, 0, 0, 3000]:
        clock.advance(advance)
        state, expected = strategy.step(state, clock(), 1, rate)
        assert await backend.hit(KEY, strategy, rate) == expected


async def test_limit_then_denial_then_reset(backend: InMemoryBackend, clock: ManualClock) -> None:
    rate = Rate.parse("2/s")  # clock starts on a window boundary (1_000_000 ms)
    first = await backend.hit(KEY, FixedWindow(), rate)
    second = await backend.hit(KEY, FixedWindow(), rate)
    third = await backend.hit(KEY, FixedWindow(), rate)
    assert (first.allowed, first.hits_remaining) == (True, 1)
    assert (second.allowed, second.hits_remaining) == (True, 0)
    assert (third.allowed, third.wait_ms) == (False, 1000.0)
    clock.advance(1000)
    assert (await backend.hit(KEY, FixedWindow(), rate)).allowed


async def test_cost_is_applied(backend: InMemoryBackend) -> None:
    assert (await backend.hit(KEY, FixedWindow(), RATE, cost=60)).hits_remaining == 40
    assert not (await backend.hit(KEY, FixedWindow(), RATE, cost=41)).allowed
    assert (await backend.hit(KEY, FixedWindow(), RATE, cost=40)).allowed


@pytest.mark.parametrize("strategy", [FixedWindow(), SlidingWindowLog()], ids=["fixed-window", "sliding-window-log"])
async def test_unlimited_rate_short_circuits(backend: InMemoryBackend, strategy: ThrottleStrategy) -> None:
    for _ in range(3):
        assert await backend.hit(KEY, strategy, Rate()) is UNLIMITED_DECISION
        assert await backend.peek(KEY, strategy, Rate()) is UNLIMITED_DECISION
    assert len(backend) == 0


async def test_unlimited_rate_never_runs_the_step(backend: InMemoryBackend) -> None:
    strategy = CountingStrategy()
    await backend.hit(KEY, strategy, Rate())
    assert strategy.seen == []


@pytest.mark.parametrize("strategy", [FixedWindow(), SlidingWindowLog()], ids=["fixed-window", "sliding-window-log"])
async def test_peek_consumes_nothing(backend: InMemoryBackend, strategy: ThrottleStrategy) -> None:
    rate = Rate.parse("2/min")
    await backend.hit(KEY, strategy, rate)
    before = await backend.load_state(KEY)
    for _ in range(5):
        decision = await backend.peek(KEY, strategy, rate)
        assert decision == strategy.peek(before, backend.clock(), 1, rate)
        assert (decision.allowed, decision.hits_remaining) == (True, 0)
    assert await backend.load_state(KEY) == before
    assert (await backend.hit(KEY, strategy, rate)).allowed
    assert not (await backend.peek(KEY, strategy, rate)).allowed


@pytest.mark.parametrize("strategy", [FixedWindow(), SlidingWindowLog()], ids=["fixed-window", "sliding-window-log"])
async def test_peek_on_an_unknown_key_stores_nothing(backend: InMemoryBackend, strategy: ThrottleStrategy) -> None:
    decision = await backend.peek(KEY, strategy, RATE, cost=5)
    assert (decision.allowed, decision.hits_remaining) == (True, 95)  # as if the hit had been admitted
    assert len(backend) == 0
    assert await backend.load_state(KEY) is None


async def test_expired_state_is_handed_to_the_step_as_absent(backend: InMemoryBackend, clock: ManualClock) -> None:
    strategy = CountingStrategy()
    await backend.hit(KEY, strategy, Rate.parse("5/s"))
    stored = await backend.load_state(KEY)
    assert stored is not None
    clock.set(stored[0])  # the state's expiry: from now on it is as good as absent
    await backend.hit(KEY, strategy, Rate.parse("5/s"))
    assert strategy.seen == [None, None]


async def test_expired_keys_are_not_live(backend: InMemoryBackend, clock: ManualClock) -> None:
    await backend.hit("a", FixedWindow(), Rate.parse("5/s"))
    await backend.hit("b", SlidingWindowLog(), Rate.parse("5/s"))
    assert len(backend) == 2
    clock.advance(1000)
    assert len(backend) == 0
    assert await backend.load_state("a") is None
    assert await backend.load_state("b") is None


async def test_denied_hit_does_not_write(backend: InMemoryBackend) -> None:
    rate = Rate.parse("1/min")
    await backend.hit(KEY, FixedWindow(), rate)
    shard = backend._tables[FixedWindow.NAME][hash(KEY) % backend._slots]
    stored = shard[KEY]
    assert not (await backend.hit(KEY, FixedWindow(), rate)).allowed
    assert shard[KEY] is stored


async def test_load_and_store_state(backend: InMemoryBackend, clock: ManualClock) -> None:
    await backend.store_state(KEY, (clock() + 500, 3), 500, strategy=CountingStrategy.NAME)
    assert await backend.load_state(KEY) == (clock() + 500, 3)
    assert await backend.load_state(KEY, strategy=CountingStrategy.NAME) == (clock() + 500, 3)
    assert await backend.load_state(KEY, strategy=FixedWindow.NAME) is None
    decision = await backend.hit(KEY, CountingStrategy(), Rate(limit=5, milliseconds=1000))
    assert decision.hits_remaining == 1


async def test_sliding_log_state_is_exposed_in_the_tuple_layout(backend: InMemoryBackend, clock: ManualClock) -> None:
    strategy, rate = SlidingWindowLog(), Rate.parse("10/s")
    state: State | None = None
    for advance, cost in [(0, 1), (0, 2), (300, 1), (400, 3)]:
        clock.advance(advance)
        state, _ = strategy.step(state, clock(), cost, rate)
        await backend.hit(KEY, strategy, rate, cost)
    assert await backend.load_state(KEY) == state
    assert state == (1_001_700.0, 1_000_000.0, 3, 1_000_300.0, 1, 1_000_700.0, 3)


async def test_sliding_log_subclass_runs_the_pure_step(backend: InMemoryBackend) -> None:
    class CustomLog(SlidingWindowLog):
        NAME = "custom-log"

    await backend.hit(KEY, CustomLog(), RATE)
    assert backend._tables["custom-log"][hash(KEY) % backend._slots][KEY][2] == 1
    assert all(not slot for slot in backend._logs)


async def test_keys_are_independent(backend: InMemoryBackend) -> None:
    rate = Rate.parse("1/min")
    assert (await backend.hit("a", FixedWindow(), rate)).allowed
    assert not (await backend.hit("a", FixedWindow(), rate)).allowed
    assert (await backend.hit("b", FixedWindow(), rate)).allowed


async def test_backends_do_not_share_data(clock: ManualClock) -> None:
    rate = Rate.parse("1/min")
    first = InMemoryBackend("one", clock=clock, cleanup_frequency=None)
    second = InMemoryBackend("two", clock=clock, cleanup_frequency=None)
    same_namespace = InMemoryBackend("one", clock=clock, cleanup_frequency=None)
    for strategy in (FixedWindow(), SlidingWindowLog()):
        assert (await first.hit(KEY, strategy, rate)).allowed
        assert (await second.hit(KEY, strategy, rate)).allowed
        assert (await same_namespace.hit(KEY, strategy, rate)).allowed
        assert not (await first.hit(KEY, strategy, rate)).allowed


async def test_clear_drops_only_this_backend(clock: ManualClock) -> None:
    rate = Rate.parse("1/min")
    first = InMemoryBackend("one", clock=clock, cleanup_frequency=None)
    second = InMemoryBackend("two", clock=clock, cleanup_frequency=None)
    for backend in (first, second):
        await backend.hit("fixed", FixedWindow(), rate)
        await backend.hit("log", SlidingWindowLog(), rate)
    await first.clear()
    assert len(first) == 0
    assert len(second) == 2
    assert (await first.hit("fixed", FixedWindow(), rate)).allowed
    assert (await first.hit("log", SlidingWindowLog(), rate)).allowed
    assert not (await second.hit("fixed", FixedWindow(), rate)).allowed
    assert not (await second.hit("log", SlidingWindowLog(), rate)).allowed


async def test_reset_is_clear(backend: InMemoryBackend) -> None:
    await backend.hit(KEY, FixedWindow(), RATE)
    await backend.reset()
    assert len(backend) == 0


async def test_keys_spread_over_every_shard(clock: ManualClock) -> None:
    backend = InMemoryBackend(number_of_shards=4, clock=clock, cleanup_frequency=None)
    for n in range(400):
        await backend.hit(f"client-{n}", FixedWindow(), RATE)
    per_shard = [sum(len(slot) for _, slot in slots) for slots in backend._shard_slots]
    assert all(count > 0 for count in per_shard)
    assert sum(per_shard) == len(backend) == 400


async def test_concurrent_hits_admit_exactly_the_limit(backend: InMemoryBackend, strategy: ThrottleStrategy) -> None:
    decisions = await asyncio.gather(*(backend.hit(KEY, strategy, RATE) for _ in range(200)))
    assert sum(decision.allowed for decision in decisions) == 100


async def test_concurrent_hits_from_tasks_admit_exactly_the_limit(
    backend: InMemoryBackend, strategy: ThrottleStrategy
) -> None:
    async def client() -> bool:
        await asyncio.sleep(0)  # interleave the tasks before they hit
        return (await backend.hit(KEY, strategy, RATE)).allowed

    admitted = await asyncio.gather(*(asyncio.create_task(client()) for _ in range(200)))
    assert sum(admitted) == 100


async def test_concurrent_hits_agree_with_sequential_pure_steps(
    backend: InMemoryBackend, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    state: State | None = None
    expected = []
    for _ in range(150):
        state, decision = strategy.step(state, clock(), 1, RATE)
        expected.append(decision)
    assert await asyncio.gather(*(backend.hit(KEY, strategy, RATE) for _ in range(150))) == expected


def test_an_empty_backend_is_still_truthy(backend: InMemoryBackend) -> None:
    assert len(backend) == 0
    assert backend
