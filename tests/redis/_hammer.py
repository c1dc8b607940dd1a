"""Worker for the exactness test: one process, many tasks, one key (imported by spawned processes)."""

from __future__ import annotations

import asyncio
from typing import Any

from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy


async def _hammer(url: str, namespace: str, strategy: ThrottleStrategy, now: float, tasks: int, hits: int) -> int:
    # Generous timeouts: this measures exactness, and 200 tasks opening connections at once on a
    # loaded 2-core machine can take longer than the 0.5 s defaults to get their turn on the CPU.
    backend = RedisBackend(
        url,
        namespace=namespace,
        clock=ManualClock(now),
        clock_margin_ms=600_000,
        socket_timeout=10,
        connect_timeout=10,
    )
    rate = Rate.parse("100/min")

    async def task() -> int:
        return sum([(await backend.hit("hot-key", strategy, rate)).allowed for _ in range(hits)])

    try:
        return sum(await asyncio.gather(*(task() for _ in range(tasks))))
    finally:
        await backend.close()


def run(barrier: Any, results: Any, *args: Any) -> None:
    """Wait for every process, then hit; put the number of admitted hits on ``results``."""
    barrier.wait()
    results.put(asyncio.run(_hammer(*args)))
