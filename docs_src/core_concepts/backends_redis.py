"""A Redis backend shared by several app instances."""

from __future__ import annotations

import os

from fastapi import FastAPI
from traffik.backends.redis import RedisBackend

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")

backend = RedisBackend(
    REDIS_URL,
    namespace="shop-api",
    persistent=True,  # keep the counters when this instance shuts down
    on_error="throttle",  # Redis down: reject (fail closed) rather than let everyone in
)
app = FastAPI(lifespan=backend.lifespan)


def main() -> None:
    assert backend.NAME == "redis"
    assert backend.persistent
