"""FastAPI(lifespan=backend.lifespan) against a real server: start-up connects, shutdown clears unless persistent."""

from __future__ import annotations

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from traffik.backends.base import get_active_backend
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer

from tests.redis.conftest import unique_namespace

pytestmark = pytest.mark.redis


def _pool(backend: RedisBackend) -> object:
    return backend._client


def _app(backend: RedisBackend) -> FastAPI:
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/")
    async def root() -> dict[str, object]:
        active = get_active_backend()
        assert active is backend
        decision = await active.hit("client", FixedWindow(), Rate.parse("2/min"))
        return {"allowed": decision.allowed}

    return app


@pytest.mark.parametrize("persistent", [False, True], ids=["cleared", "persistent"])
def test_lifespan_initialises_then_clears_unless_persistent(redis_server: RedisServer, persistent: bool) -> None:
    namespace = unique_namespace("lifespan")
    backend = RedisBackend(redis_server.url, namespace=namespace, persistent=persistent)
    pattern = KeyLayout(namespace).scan_pattern
    with redis.Redis.from_url(redis_server.url) as raw:
        with TestClient(_app(backend)) as client:
            assert _pool(backend) is not None  # start-up created the pool
            assert [client.get("/").json()["allowed"] for _ in range(3)] == [True, True, False]
            assert len(raw.keys(pattern)) == 1
        assert _pool(backend) is None  # shutdown closed the pool it owned
        assert len(raw.keys(pattern)) == (1 if persistent else 0)
        for key in raw.keys(pattern):
            raw.delete(key)
