"""The in-memory backend's expiry: sweeping shards in slices, and the periodic sweep task.

A mixin of :class:`~traffik.backends.inmemory.InMemoryBackend`, kept apart
from the hit path; the slicing itself is :func:`._store.sweep_slices`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import ClassVar

from traffik.backends.inmemory._store import Slot, sweep_slices
from traffik.clock import Clock

__all__ = ["ShardSweeper"]


class ShardSweeper:
    """Drops expired states shard by shard, in slices, on demand or from a periodic task."""

    SWEEP_SLICE: ClassVar[int] = 1_024
    """Most keys the sweep examines before it yields to the event loop."""

    # Provided by the backend.
    namespace: str
    clock: Clock
    number_of_shards: int
    cleanup_frequency: float | None
    _count: int
    _spent: set[tuple[str, str]] | None
    _shard_slots: list[list[tuple[str, Slot]]]
    _next_shard: int
    _sweeper: asyncio.Task[None] | None
    _users: int

    def _sweep_steps(self, index: int, tally: list[int]) -> Iterator[int]:
        """Sweep shard ``index`` slice by slice; yields the keys each slice examined, adds the drops to ``tally``."""
        spent = self._spent

        def dropped(name: str, keys: list[str]) -> None:
            self._count -= len(keys)
            tally[0] += len(keys)
            if spent is not None:
                spent.difference_update((name, key) for key in keys)

        yield from sweep_slices(self._shard_slots[index], self.clock, self.SWEEP_SLICE, dropped)

    def _next_shard_index(self, index: int | None) -> int:
        if index is None:
            index = self._next_shard
            self._next_shard = (index + 1) % self.number_of_shards
        elif isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.number_of_shards:
            raise ValueError(f"shard index must be in 0..{self.number_of_shards - 1}, got {index!r}")
        return index

    def sweep_shard(self, index: int | None = None) -> int:
        """Drop the expired states of one shard at once; returns how many were dropped.

        Args:
            index: The shard to sweep; by default the next one in turn, which
                is what the periodic cleanup does on every tick (in slices).
        """
        tally = [0]
        for _ in self._sweep_steps(self._next_shard_index(index), tally):
            pass
        return tally[0]

    async def sweep_shard_in_slices(self, index: int | None = None) -> int:
        """Like :meth:`sweep_shard`, yielding to the event loop after every :attr:`SWEEP_SLICE` keys."""
        tally = [0]
        for _ in self._sweep_steps(self._next_shard_index(index), tally):
            await asyncio.sleep(0)
        return tally[0]

    def sweep(self) -> int:
        """Sweep every shard at once; returns how many expired states were dropped."""
        return sum(self.sweep_shard(index) for index in range(self.number_of_shards))

    async def _sweep_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.sweep_shard_in_slices()

    @property
    def cleanup_running(self) -> bool:
        """Whether the periodic sweep task is running."""
        return self._sweeper is not None and not self._sweeper.done()

    # -- lifecycle: the periodic sweep task ---------------------------------

    async def initialize(self) -> None:
        """Start the periodic sweep on the running loop (unless ``cleanup_frequency`` is ``None``).

        Nested start-ups (a lifespan and an ``async with``) share one sweep
        task, stopped by the last matching :meth:`close`.
        """
        self._users += 1
        if self.cleanup_frequency is not None and not self.cleanup_running:
            self._sweeper = asyncio.get_running_loop().create_task(
                self._sweep_forever(self.cleanup_frequency / self.number_of_shards),
                name=f"traffik-inmemory-sweep:{self.namespace}",
            )

    async def close(self) -> None:
        """Stop the periodic sweep once every :meth:`initialize` has been matched."""
        self._users = max(0, self._users - 1)
        if self._users:
            return
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is None or sweeper.done():
            return
        sweeper.cancel()
        if sweeper.get_loop() is asyncio.get_running_loop():
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
