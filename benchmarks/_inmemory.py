"""In-memory scenarios: µs per direct hit (hot key, many keys) and bytes per live key."""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from traffik.backends.inmemory import InMemoryBackend
from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy

from benchmarks._timing import Sample, measure_interleaved

__all__ = ["HitLatency", "bytes_per_live_key", "floor_latency", "hit_latency"]

# A limit that is never reached, so every hit takes the admitting (writing) path.
NEVER_REACHED = Rate(limit=10**9, minutes=1)

Runner = Callable[[int], Awaitable[float]]


@dataclass
class HitLatency:
    strategy: str
    keys: int
    sample: Sample


def _key_ring(count: int) -> list[str]:
    # Realistic identifiers: the shape the throttles build (uid, client address, method, path).
    return [f"api:v1:203.0.{i // 256 % 256}.{i % 256}:GET:/items" for i in range(count)]


def _hit_runner(ring: list[str], backend: InMemoryBackend, strategy: ThrottleStrategy) -> Runner:
    async def run(n: int) -> float:
        hit = backend.hit
        rate = NEVER_REACHED
        size = len(ring)
        start = time.perf_counter()
        for i in range(n):
            await hit(ring[i % size], strategy, rate, 1)
        return time.perf_counter() - start

    return run


async def hit_latency(
    strategies: dict[str, ThrottleStrategy], key_counts: list[int], operations: int, repeats: int
) -> list[HitLatency]:
    """µs per ``await backend.hit(key, strategy, rate)``, cycling over ``keys`` distinct keys."""
    results: list[HitLatency] = []
    for keys in key_counts:
        ring = _key_ring(keys)
        variants = [
            (name, _hit_runner(ring, InMemoryBackend(namespace=f"bench-{name}", cleanup_frequency=None), strategy))
            for name, strategy in strategies.items()
        ]
        samples = await measure_interleaved(variants, operations, repeats)
        results.extend(HitLatency(name, keys, sample) for name, sample in zip(strategies, samples, strict=True))
    return results


def _floor_runner(ring: list[str]) -> Runner:
    counts: dict[str, int] = {}

    async def increment(key: str) -> int:
        value = counts.get(key, 0) + 1
        counts[key] = value
        return value

    async def run(n: int) -> float:
        size = len(ring)
        start = time.perf_counter()
        for i in range(n):
            await increment(ring[i % size])
        return time.perf_counter() - start

    return run


async def floor_latency(key_counts: list[int], operations: int, repeats: int) -> dict[int, Sample]:
    """The floor beneath an in-memory hit: an awaited bare dict increment."""
    floors: dict[int, Sample] = {}
    for keys in key_counts:
        floors[keys] = (await measure_interleaved([("floor", _floor_runner(_key_ring(keys)))], operations, repeats))[0]
    return floors


async def bytes_per_live_key(strategy: ThrottleStrategy, keys: int = 10_000) -> float:
    """Memory held per live key after ``keys`` distinct keys were hit once (tracemalloc)."""
    rate = Rate(limit=100, minutes=1)
    backend = InMemoryBackend(namespace="bench-memory", cleanup_frequency=None)
    await backend.hit("warm-up", strategy, rate, 1)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    # Keys are built inside the measured span and only the store keeps them
    # alive afterwards, so their size counts towards the per-key figure.
    ring = _key_ring(keys)
    for key in ring:
        await backend.hit(key, strategy, rate, 1)
    del ring, key
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return grown / keys
