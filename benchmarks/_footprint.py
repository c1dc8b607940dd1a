"""Store operations per hit and bytes per live key, for every kind of backend.

* memory: dictionary reads and writes per hit, counted by instrumented slots;
  bytes from tracemalloc (key strings included);
* redis: server commands per hit from ``INFO stats``
  (``total_commands_processed``, which counts the commands a Lua script runs
  too: one ``EVALSHA`` round trip may be several commands) and bytes from
  ``MEMORY USAGE`` of every key the hits created (``used_memory`` deltas jump
  whenever the keyspace's hash table doubles);
* memcached: commands per hit from ``stats`` (gets, sets, adds, cas, touch,
  incr, decr) and bytes from ``stats`` (``bytes``, item sizes);
* another plugin's backend: ``load_state``/``store_state`` calls per hit of
  the generic path; no byte figure.

Server-side figures are deltas over many hits or keys, less the cost of asking.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from traffik.backends.base import ThrottleBackend
from traffik.plugins import backend_from_url
from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy

from benchmarks._inmemory import bytes_per_live_key
from benchmarks._strategies import NEVER_REACHED
from benchmarks._targets import Target

if TYPE_CHECKING:
    from traffik.backends.inmemory import InMemoryBackend

__all__ = ["footprint"]

_MEMCACHED_COMMANDS = ("cmd_get", "cmd_set", "cmd_touch", "incr_hits", "incr_misses", "decr_hits", "decr_misses")
# Keys hit once each for the byte figure: a limit that a single hit never reaches.
_ONCE = Rate(limit=100, minutes=1)

Counter = Callable[[], Awaitable[tuple[float, float]]]
"""Reads the store's (operations so far, bytes held now)."""


class _CountingDict(dict[Any, Any]):
    """A dict that counts the reads and writes the in-memory backend makes on it."""

    operations = 0

    def get(self, key: Any, default: Any = None) -> Any:
        _CountingDict.operations += 1
        return super().get(key, default)

    def __setitem__(self, key: Any, value: Any) -> None:
        _CountingDict.operations += 1
        super().__setitem__(key, value)

    def pop(self, key: Any, *default: Any) -> Any:
        _CountingDict.operations += 1
        return super().pop(key, *default)


def _instrument_memory(backend: ThrottleBackend, strategy: ThrottleStrategy) -> Counter:
    # The in-memory hit path reads its slot dictionaries directly; swapping them for
    # counting dicts observes it without changing what it does. A strategy's slots
    # exist from its first hit on: create them first, so that they are counted too.
    memory = cast("InMemoryBackend", backend)
    memory._table(strategy.NAME)
    swapped: dict[int, _CountingDict] = {}
    tables: list[list[dict[str, Any]]] = [*memory._tables.values(), memory._logs]
    for table in tables:
        for index, slot in enumerate(table):
            table[index] = swapped[id(slot)] = _CountingDict(slot)
    memory._shard_slots = [[(name, swapped.get(id(s), s)) for name, s in slots] for slots in memory._shard_slots]
    memory._all_slots = [(name, swapped.get(id(s), s)) for name, s in memory._all_slots]

    async def read() -> tuple[float, float]:
        return float(_CountingDict.operations), 0.0

    return read


def _instrument_generic(backend: ThrottleBackend) -> Counter:
    calls = [0]
    load, store = backend.load_state, backend.store_state

    async def counted_load(key: str) -> Any:
        calls[0] += 1
        return await load(key)

    async def counted_store(key: str, state: Any, ttl_ms: int) -> None:
        calls[0] += 1
        await store(key, state, ttl_ms)

    backend.load_state = counted_load  # type: ignore[method-assign]  # per-instance counting wrapper
    backend.store_state = counted_store  # type: ignore[method-assign]  # per-instance counting wrapper

    async def read() -> tuple[float, float]:
        return float(calls[0]), 0.0

    return read


async def _measure(
    backend: ThrottleBackend, strategy: ThrottleStrategy, read: Counter, hits: int, keys: int, asking_cost: float
) -> tuple[float, float]:
    await backend.hit("ops", strategy, NEVER_REACHED, 1)  # the key exists from here on
    before, _ = await read()
    for _ in range(hits):
        await backend.hit("ops", strategy, NEVER_REACHED, 1)
    after, bytes_before = await read()
    per_hit = (after - before - asking_cost) / hits
    for index in range(keys):
        await backend.hit(f"live:{index}", strategy, _ONCE, 1)
    _, bytes_after = await read()
    return per_hit, (bytes_after - bytes_before) / keys if keys else 0.0


async def footprint(
    target: Target, strategies: dict[str, ThrottleStrategy], hits: int, keys: int
) -> dict[str, dict[str, float | None]]:
    """``{strategy: {"store_ops_per_hit", "bytes_per_live_key"}}`` for ``target``.

    Args:
        target: The backend to measure.
        strategies: Strategies to run, by name.
        hits: Hits on one existing key, for the operations figure.
        keys: Distinct keys hit once each, for the bytes figure.
    """
    results: dict[str, dict[str, float | None]] = {}
    for name, strategy in strategies.items():
        backend = backend_from_url(target.url, namespace=f"bench-fp-{uuid.uuid4().hex[:8]}")
        async with backend:
            if target.name == "memory":
                per_hit, _ = await _measure(backend, strategy, _instrument_memory(backend, strategy), hits, 0, 0.0)
                size: float | None = await bytes_per_live_key(strategy, keys)
            elif target.name == "redis" and target.redis_url is not None:
                per_hit, size = await _redis_measure(backend, strategy, target.redis_url, hits, keys)
            elif target.name == "memcached":
                per_hit, size = await _memcached_measure(backend, strategy, target.memcached, hits, keys)
            else:
                per_hit, _ = await _measure(backend, strategy, _instrument_generic(backend), hits, 0, 0.0)
                size = None
        results[name] = {
            "store_ops_per_hit": round(per_hit, 3),
            "bytes_per_live_key": None if size is None else round(size, 1),
        }
    return results


async def _redis_measure(
    backend: ThrottleBackend, strategy: ThrottleStrategy, url: str, hits: int, keys: int
) -> tuple[float, float]:
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:

        async def read() -> tuple[float, float]:
            stats = await client.info("stats")
            return float(stats["total_commands_processed"]), 0.0

        # Each read is counted by the server too; measure that once and subtract it.
        first, _ = await read()
        second, _ = await read()
        per_hit, _ = await _measure(backend, strategy, read, hits, keys, second - first)
        size = 0
        async for name in client.scan_iter(match=f"{backend.namespace}:{{live:*", count=1000):
            size += int(await client.memory_usage(name) or 0)
        return per_hit, size / keys
    finally:
        await client.aclose()


async def _memcached_measure(
    backend: ThrottleBackend, strategy: ThrottleStrategy, servers: tuple[tuple[str, int], ...], hits: int, keys: int
) -> tuple[float, float]:
    from traffik.backends.memcached._client import MemcachedClient

    clients = [MemcachedClient(host, port, pool_size=1, timeout=5.0, connect_timeout=5.0) for host, port in servers]
    try:

        async def read() -> tuple[float, float]:
            operations = size = 0.0
            for client in clients:
                stats = await client.stats()
                operations += sum(float(stats.get(name, "0")) for name in _MEMCACHED_COMMANDS)
                size += float(stats.get("bytes", "0"))
            return operations, size

        return await _measure(backend, strategy, read, hits, keys, 0.0)
    finally:
        for client in clients:
            await client.close()
