"""The deny cache: a client flooding past its limit stops costing Redis round trips."""

from __future__ import annotations

import os

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.deny_cache import DenyCache
from traffik.backends.redis import RedisBackend

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

deny_cache = DenyCache(max_entries=50_000)  # one per backend; LRU beyond that
backend = RedisBackend(
    REDIS_URL, namespace="search-api", persistent=True, deny_cache=deny_cache
)
throttle = HTTPThrottle("cached-search", rate="3/hour", backend=backend)
app = FastAPI(lifespan=backend.lifespan)


@app.get("/search", dependencies=[Depends(throttle)])
async def search() -> dict[str, str]:
    return {"results": "..."}


def main() -> None:
    with TestClient(app) as client:
        assert [client.get("/search").status_code for _ in range(3)] == [200] * 3
        first = client.get("/search")  # Redis denies: the denial is remembered
        assert first.status_code == 429
        assert deny_cache.local_denials == 0

        flood = [client.get("/search") for _ in range(20)]  # denied here, no round trip
        assert all(response.status_code == 429 for response in flood)
        assert deny_cache.local_denials == 20
        assert "Retry-After" in flood[-1].headers  # the same 429 Redis would give
    # --8<-- [end:example]
    cleanup()


def cleanup() -> None:
    import asyncio

    async def clear() -> None:
        # persistent=True keeps the keys: the next run starts fresh
        await backend.clear()
        await backend.close()

    asyncio.run(clear())
