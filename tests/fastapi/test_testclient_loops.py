"""FastAPI's documented test pattern, ``client = TestClient(app)`` without ``with``, on every backend.

Used that way, Starlette's TestClient runs each request on a new event loop and
no lifespan. A backend that kept the first request's connections would fail
every later one; each backend must follow the loop and keep counting.
"""

from __future__ import annotations

import gc
import uuid
import warnings
from collections.abc import Callable

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry
from traffik.testing import MemcachedServer, RedisServer

BackendMaker = Callable[[pytest.FixtureRequest], ThrottleBackend]


def _frozen() -> ManualClock:
    # Time stands still: the five requests can never straddle a window edge and see the quota reset.
    return ManualClock(1_700_000_010_000.0)


def _memory(request: pytest.FixtureRequest) -> ThrottleBackend:
    return InMemoryBackend(namespace=f"loops-{uuid.uuid4().hex}", clock=_frozen())


def _redis(request: pytest.FixtureRequest) -> ThrottleBackend:
    server: RedisServer = request.getfixturevalue("redis_server")
    return RedisBackend(server.url, namespace=f"loops-{uuid.uuid4().hex}", clock=_frozen())


def _memcached(request: pytest.FixtureRequest) -> ThrottleBackend:
    servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
    return MemcachedBackend(
        [server.address for server in servers], namespace=f"loops-{uuid.uuid4().hex}", clock=_frozen()
    )


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_memory, id="inmemory"),
        pytest.param(_redis, id="redis", marks=pytest.mark.redis),
        pytest.param(_memcached, id="memcached", marks=pytest.mark.memcached),
    ],
)
def test_a_testclient_without_with_gets_the_limit_on_every_backend(
    make: BackendMaker, request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    throttle = HTTPThrottle("loops", rate="3/min", backend=backend, registry=ThrottleRegistry(), on_error="raise")
    app = FastAPI()

    @app.get("/items", dependencies=[Depends(throttle)])
    async def items() -> dict[str, bool]:
        return {"ok": True}

    # Each request's loop closes with it; what its connections leave behind is
    # collected with asyncio's ResourceWarning, expected here. The backend keeps
    # the last loop's connections: drop it too, or its sockets may be collected
    # (with the warning) in whichever later test runs gc, as on the oldest pins.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client = TestClient(app)
        statuses = [client.get("/items").status_code for _ in range(5)]
        del client, app, items, throttle, backend
        gc.collect()
    assert statuses == [200, 200, 200, 429, 429]
