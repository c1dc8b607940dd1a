"""Memcached scenarios: operations per hit, µs per sequential hit, hits/s with 50 tasks, and the floor.

The lead's ``python -m benchmarks`` calls :func:`memcached_benchmarks` with the
addresses of running memcached servers (for example from
:class:`traffik.testing.MemcachedServer`).

* **operations per hit**: memcached commands per admitted hit on an existing
  key, counted from the servers' ``stats`` deltas (``cmd_get`` includes
  ``gets``; ``cmd_set`` includes ``add`` and ``cas``; plus ``cmd_touch`` and
  incr/decr hits and misses);
* **µs per sequential hit** (median, min, max over ``repeats`` runs) beside the
  **floor**, a bare ``incr`` through the same client, and their ratio;
* **hits/s with 50 concurrent tasks**, each task on its own key.

:func:`alternatives` gives the throughput scenario (:mod:`benchmarks._throughput`)
the `limits` library's memcached fixed window (its async storage, on
``memcachio``) to time beside ours in the same run.

The clock is frozen (a :class:`~traffik.clock.ManualClock`) and the limit is never
reached, so every hit takes the admitting, writing path and states keep their
steady size (``SlidingWindowLog`` coalesces hits at one instant into one entry).
Operations per hit include the amortised re-read of the namespace generation
(one ``get`` every ``generation_refresh`` seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from traffik.backends.memcached import MemcachedBackend
from traffik.backends.memcached._client import MemcachedClient
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy

from benchmarks._strategies import STRATEGIES
from benchmarks._timing import measure_interleaved

__all__ = ["alternatives", "memcached_benchmarks"]

# Never reached in a run, so every hit admits and writes. Not 10**12: at such
# limits some pure steps spend ~200 µs in float corner cases, which is not what
# a memcached benchmark should measure.
NEVER_REACHED = Rate(limit=10_000_000, minutes=1)
CONCURRENT_TASKS = 50
_COUNTED_STATS = ("cmd_get", "cmd_set", "cmd_touch", "incr_hits", "incr_misses", "decr_hits", "decr_misses")


@contextlib.asynccontextmanager
async def alternatives(
    servers: tuple[tuple[str, int], ...], limit: int
) -> AsyncIterator[list[tuple[str, Callable[[str], Awaitable[object]]]]]:
    """The `limits` library's memcached fixed window as ``(name, hit(key))``; none if it is not installed.

    Args:
        servers: The memcached servers ours run on (`limits` spreads keys over them too).
        limit: Hits per minute (never reached, as ours).
    """
    try:
        import memcachio  # noqa: F401  (what `limits` uses for async memcached; a test-only dependency)
        from limits import RateLimitItemPerMinute
        from limits.aio.storage import MemcachedStorage
        from limits.aio.strategies import FixedWindowRateLimiter
    except ImportError:
        yield []
        return
    storage = MemcachedStorage("async+memcached://" + ",".join(f"{host}:{port}" for host, port in servers))
    limiter = FixedWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(limit)
    run = f"bench-limits-{uuid.uuid4().hex[:8]}"
    try:
        yield [("limits:FixedWindow", lambda key: limiter.hit(item, run, key))]
    finally:
        bridge: Any = storage.bridge
        client = await bridge.get_storage()
        client.connection_pool.close()  # memcachio's connections: `limits` never closes them


async def _operations(clients: list[MemcachedClient]) -> int:
    total = 0
    for client in clients:
        stats = await client.stats()
        total += sum(int(stats.get(name, "0")) for name in _COUNTED_STATS)
    return total


async def _operations_per_hit(backend: MemcachedBackend, strategy: ThrottleStrategy, hits: int) -> float:
    await backend.hit("ops", strategy, NEVER_REACHED)  # the key exists from here on
    before = await _operations(backend._clients)
    for _ in range(hits):
        await backend.hit("ops", strategy, NEVER_REACHED)
    return (await _operations(backend._clients) - before) / hits


async def _concurrent_hits_per_second(backend: MemcachedBackend, strategy: ThrottleStrategy, hits: int) -> float:
    per_task = max(1, hits // CONCURRENT_TASKS)

    async def task(index: int) -> None:
        key = f"client-{index}"
        for _ in range(per_task):
            await backend.hit(key, strategy, NEVER_REACHED)

    started = time.perf_counter()
    await asyncio.gather(*(task(i) for i in range(CONCURRENT_TASKS)))
    return per_task * CONCURRENT_TASKS / (time.perf_counter() - started)


async def memcached_benchmarks(servers: list[tuple[str, int]], operations: int, repeats: int) -> dict[str, Any]:
    """Run every memcached scenario against ``servers`` and return the figures as plain data.

    Args:
        servers: ``(host, port)`` of running memcached servers (data is written
            in a fresh namespace, never flushed).
        operations: Hits per timed run.
        repeats: Timed runs per variant (median, min and max are reported).

    Returns:
        ``{"floor_us": {...}, "strategies": {name: {...}}}`` with, per strategy,
        ``operations_per_hit``, ``median_us``/``min_us``/``max_us`` per sequential
        hit, ``ratio_to_floor`` and ``concurrent_hits_per_s``.
    """
    backend = MemcachedBackend(
        servers, namespace=f"bench-{uuid.uuid4().hex[:8]}", clock=ManualClock(1_700_000_010_000.0)
    )
    await backend.initialize()
    floor_client = backend._clients[0]
    floor_key = f"bench-floor-{uuid.uuid4().hex[:8]}".encode()
    await floor_client.set(floor_key, b"0", 600)

    async def floor(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            await floor_client.incr(floor_key, 1)
        return time.perf_counter() - started

    def sequential(strategy: ThrottleStrategy) -> Any:
        async def run(count: int) -> float:
            started = time.perf_counter()
            for _ in range(count):
                await backend.hit("sequential", strategy, NEVER_REACHED)
            return time.perf_counter() - started

        return run

    try:
        samples = await measure_interleaved(
            [("floor", floor)] + [(name, sequential(strategy)) for name, strategy in STRATEGIES.items()],
            operations,
            repeats,
        )
        floor_sample, strategy_samples = samples[0], samples[1:]
        results: dict[str, Any] = {}
        for (name, strategy), sample in zip(STRATEGIES.items(), strategy_samples, strict=True):
            concurrent = [await _concurrent_hits_per_second(backend, strategy, operations) for _ in range(repeats)]
            results[name] = {
                "operations_per_hit": round(await _operations_per_hit(backend, strategy, min(operations, 500)), 3),
                "median_us": round(sample.median, 1),
                "min_us": round(sample.low, 1),
                "max_us": round(sample.high, 1),
                "ratio_to_floor": round(sample.median / floor_sample.median, 2),
                "concurrent_hits_per_s": round(sorted(concurrent)[len(concurrent) // 2]),
            }
        return {
            "servers": len(servers),
            "concurrent_tasks": CONCURRENT_TASKS,
            "floor_us": {
                "median": round(floor_sample.median, 1),
                "min": round(floor_sample.low, 1),
                "max": round(floor_sample.high, 1),
            },
            "strategies": results,
        }
    finally:
        await floor_client.delete(floor_key)
        await backend.clear()
        await backend.close()
