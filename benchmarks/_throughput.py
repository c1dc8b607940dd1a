"""Throughput with many concurrent tasks (50 by default), each hitting its own key, beside the floor."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from traffik.plugins import backend_from_url
from traffik.strategies._base import ThrottleStrategy

from benchmarks._floors import floor_operation
from benchmarks._strategies import NEVER_REACHED
from benchmarks._targets import Target
from benchmarks._timing import Sample, measure_interleaved, ratio

__all__ = ["CONCURRENT_TASKS", "throughput"]

CONCURRENT_TASKS = 50


def _concurrent_runner(
    operation: Callable[[str], Awaitable[object]], tasks: int, prefix: str
) -> Callable[[int], Awaitable[float]]:
    # Keys of their own per variant: strategies keep states of different shapes.
    keys = [f"{prefix}:client-{index}" for index in range(tasks)]

    async def worker(key: str, count: int) -> None:
        for _ in range(count):
            await operation(key)

    async def run(n: int) -> float:
        share, extra = divmod(n, tasks)
        started = time.perf_counter()
        await asyncio.gather(*(worker(key, share + (index < extra)) for index, key in enumerate(keys)))
        return time.perf_counter() - started

    return run


@contextlib.asynccontextmanager
async def _alternatives(
    target: Target, strategies: dict[str, ThrottleStrategy]
) -> AsyncIterator[list[tuple[str, Callable[[str], Awaitable[object]]]]]:
    """Other libraries' hits to time beside ours: the `limits` fixed window on memcached."""
    if target.name == "memcached" and "FixedWindow" in strategies and target.memcached:
        from benchmarks._memcached import alternatives

        async with alternatives(target.memcached, NEVER_REACHED.limit) as found:
            yield found
    else:
        yield []


def _per_second(sample: Sample) -> dict[str, float]:
    # Samples hold µs per hit; the slowest run has the fewest hits per second.
    return {
        "median": round(1e6 / sample.median),
        "min": round(1e6 / sample.high),
        "max": round(1e6 / sample.low),
    }


async def throughput(
    target: Target,
    strategies: dict[str, ThrottleStrategy],
    operations: int,
    repeats: int,
    tasks: int = CONCURRENT_TASKS,
) -> dict[str, Any]:
    """Hits per second with ``tasks`` concurrent tasks, each on its own key, interleaved with the floor.

    Args:
        target: The backend to measure.
        strategies: Strategies to run, by name.
        operations: Hits per timed run (spread evenly over the tasks).
        repeats: Timed runs per variant.
        tasks: Concurrent tasks.

    Returns:
        ``{"tasks", "floor_hits_per_s", "rows": [{"strategy", "hits_per_s", "ratio_to_floor"}]}``;
        ``ratio_to_floor`` is the floor's rate over the strategy's (how many floors a hit costs).
        On memcached, a row for the `limits` library's fixed window too, and ``versus``: our
        fixed window's median hits/s over its (goal: at least 1).
    """
    backend = backend_from_url(target.url, namespace=f"bench-tp-{uuid.uuid4().hex[:8]}")
    async with backend, floor_operation(target, backend) as floor, _alternatives(target, strategies) as others:
        variants: list[tuple[str, Callable[[int], Awaitable[float]]]] = []
        if floor is not None:
            variants.append(("floor", _concurrent_runner(floor, tasks, "floor")))
        for name, strategy in strategies.items():

            def hit(key: str, strategy: ThrottleStrategy = strategy) -> Awaitable[object]:
                return backend.hit(key, strategy, NEVER_REACHED, 1)

            variants.append((name, _concurrent_runner(hit, tasks, name)))
        variants.extend((name, _concurrent_runner(operation, tasks, name)) for name, operation in others)
        samples = await measure_interleaved(variants, operations, repeats)
    floor_sample = samples[0] if floor is not None else None
    rows = [
        {
            "strategy": sample.name,
            "hits_per_s": _per_second(sample),
            "ratio_to_floor": ratio(sample.median, floor_sample.median if floor_sample else None),
        }
        for sample in samples[1 if floor_sample else 0 :]
    ]
    medians = {sample.name: sample.median for sample in samples}
    versus = [
        {"ours": "FixedWindow", "theirs": name, "ratio": round(medians[name] / medians["FixedWindow"], 2)}
        for name, _ in others
    ]
    return {
        "tasks": tasks,
        "floor_hits_per_s": _per_second(floor_sample) if floor_sample else None,
        "rows": rows,
        **({"versus": versus} if versus else {}),
    }
