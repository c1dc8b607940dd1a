"""Quickstart on Redis: every app instance shares the same counters."""

from __future__ import annotations

# --8<-- [start:example]
import os

from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend
from traffik.decorators import install

backend = RedisBackend(
    os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
    namespace="myapp",
    persistent=True,  # keep counters at shutdown: other instances still use them
)
app = install(FastAPI(lifespan=backend.lifespan))
throttle = HTTPThrottle("quickstart:redis", rate="2/hour")


@app.get("/items", dependencies=[Depends(throttle)])
async def list_items() -> list[str]:
    return ["apple", "banana"]


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient

    # start from a clean namespace (persistent=True keeps data between runs)
    async def reset() -> None:
        await backend.clear()

    with TestClient(app) as client:
        client.portal.call(reset)
        assert [client.get("/items").status_code for _ in range(3)] == [200, 200, 429]
    with TestClient(app) as client:  # a restart (or another instance) keeps the count
        assert client.get("/items").status_code == 429
        client.portal.call(reset)


# --8<-- [end:demo]
