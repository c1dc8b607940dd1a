"""A plain ``TestClient(app)``, no ``with``: each request runs on its own event loop."""

from __future__ import annotations

import asyncio
import gc
import os
import uuid
import warnings

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend
from traffik.registry import ThrottleRegistry

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

# At most 20 hits in flight at once; more wait for a connection (up to socket_timeout).
backend = RedisBackend(
    REDIS_URL,
    namespace=f"docs-{uuid.uuid4().hex[:8]}",
    persistent=True,
    max_connections=20,
)
throttle = HTTPThrottle(
    "docs:plain", rate="3/hour", backend=backend, registry=ThrottleRegistry()
)
app = FastAPI()


@app.get("/items", dependencies=[Depends(throttle)])
async def items() -> list[str]:
    return []


def test_the_fourth_request_is_throttled() -> None:
    client = TestClient(app)  # no lifespan; a new event loop per request
    assert [client.get("/items").status_code for _ in range(4)] == [200, 200, 200, 429]


def main() -> None:
    # The loops that have closed leave their sockets to the garbage collector,
    # which Python reports as a ResourceWarning: expected here, and collected here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        test_the_fourth_request_is_throttled()
        # on a new loop: lets go of the last request's connections
        asyncio.run(backend.close())
        gc.collect()
