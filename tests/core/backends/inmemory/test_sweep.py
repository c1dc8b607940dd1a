"""Expiry: lazy reclamation, the incremental sweep, and the periodic sweep task."""

from __future__ import annotations

import asyncio
from typing import TypeVar

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog
from traffik.testing import run_in_virtual_time as run_virtual

T = TypeVar("T")
SHORT = Rate.parse("10/s")
LONG = Rate.parse("10/hour")


def sweeping(backend: InMemoryBackend) -> bool:
    # A call, not the property: mypy would keep an assert's narrowing across awaits.
    return backend.cleanup_running


async def _fill(backend: InMemoryBackend, prefix: str, count: int, rate: Rate) -> None:
    for n in range(count):
        strategy = FixedWindow() if n % 2 else SlidingWindowLog()
        await backend.hit(f"{prefix}-{n}", strategy, rate)


def _stored(backend: InMemoryBackend) -> int:
    return sum(len(slot) for _, slot in backend._all_slots)


def _stored_in(backend: InMemoryBackend, index: int) -> int:
    return sum(len(slot) for _, slot in backend._shard_slots[index])


async def test_sweep_drops_expired_states_and_keeps_live_ones(clock: ManualClock) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    await _fill(backend, "short", 300, SHORT)
    await _fill(backend, "long", 300, LONG)
    clock.advance(1_000)
    assert _stored(backend) == 600  # expired, but nothing has reclaimed them yet
    assert len(backend) == 300
    assert backend.sweep() == 300
    assert _stored(backend) == len(backend) == 300
    for n in range(300):
        assert await backend.load_state(f"long-{n}") is not None


async def test_sweep_shard_sweeps_one_shard_in_turn(clock: ManualClock) -> None:
    backend = InMemoryBackend(number_of_shards=3, clock=clock, cleanup_frequency=None)
    await _fill(backend, "short", 300, SHORT)
    clock.advance(1_000)
    sizes = [_stored_in(backend, index) for index in range(3)]
    assert all(sizes)
    for index in range(3):
        assert backend.sweep_shard() == sizes[index]
        assert [_stored_in(backend, i) for i in range(3)] == [0] * (index + 1) + sizes[index + 1 :]
    assert backend.sweep_shard() == 0  # wrapped around to shard 0


async def test_sweep_shard_by_index(clock: ManualClock) -> None:
    backend = InMemoryBackend(number_of_shards=2, clock=clock, cleanup_frequency=None)
    await _fill(backend, "short", 100, SHORT)
    clock.advance(1_000)
    other = _stored_in(backend, 0)
    assert backend.sweep_shard(1) > 0
    assert _stored_in(backend, 0) == other
    for bad in (-1, 2, True, 1.0):
        with pytest.raises(ValueError, match="shard index"):
            backend.sweep_shard(bad)  # type: ignore[arg-type]  # invalid indexes are the point


async def test_sweep_never_evicts_live_keys(clock: ManualClock) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    await _fill(backend, "live", 5_000, LONG)
    assert backend.sweep() == 0
    assert len(backend) == 5_000


async def test_expired_state_is_reclaimed_lazily_by_the_next_hit(clock: ManualClock) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    limit = Rate.parse("1/s")
    for strategy in (FixedWindow(), SlidingWindowLog()):
        assert (await backend.hit(type(strategy).__name__, strategy, limit)).allowed
        assert not (await backend.hit(type(strategy).__name__, strategy, limit)).allowed
    clock.advance(1_000)
    for strategy in (FixedWindow(), SlidingWindowLog()):
        assert (await backend.hit(type(strategy).__name__, strategy, limit)).allowed
    assert _stored(backend) == 2


# -- the periodic task ---------------------------------------------------------


async def test_initialize_starts_and_close_stops_the_sweep_task() -> None:
    backend = InMemoryBackend(cleanup_frequency=5)
    assert not sweeping(backend)
    await backend.initialize()
    assert sweeping(backend)
    task = backend._sweeper
    assert task is not None
    await backend.close()
    assert not sweeping(backend)
    assert task.cancelled()


async def test_no_sweep_task_without_cleanup_frequency() -> None:
    backend = InMemoryBackend(cleanup_frequency=None)
    await backend.initialize()
    assert not sweeping(backend)
    await backend.close()


async def test_nested_start_ups_share_one_sweep_task() -> None:
    backend = InMemoryBackend(persistent=True)
    async with backend:
        task = backend._sweeper
        async with backend:
            assert backend._sweeper is task
        assert sweeping(backend)
    assert not sweeping(backend)


def test_sweep_task_sweeps_one_shard_per_tick() -> None:
    # Full pass every 3 s over 3 shards: one shard per second of loop time.
    clock = ManualClock(0.0)
    backend = InMemoryBackend(number_of_shards=3, cleanup_frequency=3.0, clock=clock)

    async def main() -> list[list[int]]:
        await _fill(backend, "short", 300, SHORT)
        clock.advance(1_000)
        seen = [[_stored_in(backend, i) for i in range(3)]]
        await backend.initialize()
        for _ in range(3):
            await asyncio.sleep(1.0001)
            seen.append([_stored_in(backend, i) for i in range(3)])
        await backend.close()
        return seen

    seen = run_virtual(main)
    a, b, c = seen[0]
    assert seen == [[a, b, c], [0, b, c], [0, 0, c], [0, 0, 0]]
    assert min(a, b, c) > 0


def test_stopped_sweep_task_sweeps_no_more() -> None:
    clock = ManualClock(0.0)
    backend = InMemoryBackend(number_of_shards=1, cleanup_frequency=1.0, clock=clock)

    async def main() -> int:
        await backend.initialize()
        await backend.close()
        await _fill(backend, "short", 10, SHORT)
        clock.advance(1_000)
        await asyncio.sleep(5)
        return _stored(backend)

    assert run_virtual(main) == 10


# -- sweeping in slices ------------------------------------------------------------


async def _expired_backend(clock: ManualClock, count: int, slice_keys: int) -> InMemoryBackend:
    backend = InMemoryBackend(number_of_shards=1, clock=clock, cleanup_frequency=None)
    backend.SWEEP_SLICE = slice_keys  # type: ignore[misc]  # a smaller slice for the test, on this instance only
    await _fill(backend, "short", count, SHORT)
    clock.advance(1_000)
    return backend


@pytest.mark.parametrize("slice_keys", [500, 10], ids=["whole-slots", "within-a-slot"])
async def test_a_sweep_examines_at_most_one_slice_of_keys_per_step(clock: ManualClock, slice_keys: int) -> None:
    # 10,000 keys over 64 slots: ~156 per slot, so a 500-key slice takes whole slots
    # and a 10-key slice walks through a snapshot of each slot.
    backend = await _expired_backend(clock, 10_000, slice_keys)
    tally = [0]
    slices = list(backend._sweep_steps(0, tally))
    assert max(slices) <= slice_keys
    assert sum(slices) == tally[0] == 10_000
    assert len(slices) >= 10_000 // slice_keys
    assert _stored(backend) == backend._count == 0


async def test_hits_between_slices_are_kept_and_counted(clock: ManualClock) -> None:
    backend = await _expired_backend(clock, 3_000, 100)
    steps = 0
    for _ in backend._sweep_steps(0, [0]):
        await backend.hit(f"fresh-{steps}", FixedWindow(), LONG)
        await backend.hit(f"short-{steps}", FixedWindow(), LONG)  # an expired key, live again
        steps += 1
    # Every expired key is gone, every key hit during the sweep is live and counted.
    assert _stored(backend) == backend._count == len(backend) == 2 * steps


async def test_the_sweep_yields_to_the_event_loop_between_slices(clock: ManualClock) -> None:
    backend = await _expired_backend(clock, 5_000, 100)
    seen: list[int] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            seen.append(_stored(backend))
            await asyncio.sleep(0)

    task = asyncio.ensure_future(probe())
    assert await backend.sweep_shard_in_slices(0) == 5_000
    done.set()
    await task
    # Other tasks ran while the sweep was under way and saw it progress slice by slice.
    assert len(set(seen)) >= 5_000 // 100 - 1
    assert seen == sorted(seen, reverse=True)
