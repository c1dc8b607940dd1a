"""Concurrent hits on many keys share one connection per server, and stay exact."""

from __future__ import annotations

import asyncio
import os

from traffik.backends.memcached import MemcachedBackend
from traffik.rates import Rate
from traffik.strategies import FixedWindow


def servers_from_env() -> list[tuple[str, int]]:
    raw = os.environ.get("MEMCACHED_SERVERS", "127.0.0.1:11211,127.0.0.1:11212")
    return [
        (host, int(port))
        for host, port in (item.rsplit(":", 1) for item in raw.split(","))
    ]


async def admitted(backend: MemcachedBackend) -> int:
    """200 simultaneous hits: 10 from each of 20 clients, each limited to 5/min."""
    rate, strategy = Rate.parse("5/min"), FixedWindow()
    hits = [f"client-{n}" for n in range(20) for _ in range(10)]
    decisions = await asyncio.gather(
        *(backend.hit(key, strategy, rate) for key in hits)
    )
    return sum(decision.allowed for decision in decisions)


async def main() -> None:
    servers = servers_from_env()
    # The default: the commands of hits ready in the same event-loop turn leave as one
    # write per server, and the replies come back in order.
    pipelined = MemcachedBackend(servers, namespace="docs-pipe", persistent=True)
    # The pooled path: each command in flight holds one of pool_size connections.
    pooled = MemcachedBackend(
        servers, namespace="docs-pool", persistent=True, auto_pipeline=False
    )
    for backend in (pipelined, pooled):
        async with backend:
            await backend.clear()  # start from nothing: earlier runs' counters stay
            assert await admitted(backend) == 20 * 5  # exactly 5 per client
            await backend.clear()
