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
    return sum(map(len, backend._shards)) + sum(map(len, backend._log_shards))


def _stored_in(backend: InMemoryBackend, index: int) -> int:
    return len(backend._shards[index]) + len(backend._log_shards[index])


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
