"""One Redis server.

A URL, a start-up check in the lifespan, hits shared by every instance.
"""

from __future__ import annotations

# --8<-- [start:example]
import os
import uuid

from fastapi import Depends, FastAPI
from traffik.backends.redis import RedisBackend
from traffik.throttles import HTTPThrottle

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

backend = RedisBackend(
    REDIS_URL,  # redis://[user:password@]host:port/db, or unix:///run/redis.sock?db=0
    namespace=f"shop-{uuid.uuid4().hex[:8]}",
    persistent=True,  # other instances share these counters: keep them at shutdown
    socket_timeout=0.5,  # each Redis command; a hung Redis goes to on_error
    require_startup_connection=True,  # the default: no Redis at start-up, no app
)
throttle = HTTPThrottle("orders", rate="3/min", backend=backend)
app = FastAPI(lifespan=backend.lifespan)  # start-up pings Redis and loads the scripts


@app.get("/orders", dependencies=[Depends(throttle)])
async def orders() -> dict[str, str]:
    return {"orders": "..."}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        statuses = [client.get("/orders").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


# --8<-- [end:demo]
