"""The deny cache for some throttles only: two backends on one Redis client."""

from __future__ import annotations

import asyncio
import os

# --8<-- [start:example]
import redis.asyncio as redis
from traffik.backends.redis import RedisBackend
from traffik.rates import Rate
from traffik.strategies import FixedWindow

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

client = redis.Redis.from_url(REDIS_URL)
# One namespace, one connection pool: the same counters, two ways to reach them.
plain = RedisBackend(client, namespace="api", persistent=True)
cached = RedisBackend(client, namespace="api", persistent=True, deny_cache=True)
# --8<-- [end:example]


def main() -> None:
    async def run() -> None:
        rate, strategy = Rate.parse("1/hour"), FixedWindow()
        try:
            assert (await plain.hit("client", strategy, rate)).allowed
            # The counter is shared: the cached backend sees the plain one's hit.
            assert not (await cached.hit("client", strategy, rate)).allowed
            assert not (await cached.hit("client", strategy, rate)).allowed
        finally:
            await (
                plain.clear()
            )  # persistent=True keeps the keys: start the next run fresh
            await cached.close()
            await plain.close()
            await client.aclose()

    asyncio.run(run())
