"""FastAPI end to end: lifespan (shutdown clears unless persistent) and on_error with a frozen server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

import httpx
import pytest
from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry
from traffik.testing import MemcachedServer, ServerFactory

pytestmark = pytest.mark.memcached

BackendFactory = Callable[..., MemcachedBackend]


def build_app(backend: MemcachedBackend) -> FastAPI:
    throttle = HTTPThrottle("items", rate="2/min", registry=ThrottleRegistry())
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/items", dependencies=[Depends(throttle)])
    async def items() -> dict[str, int]:
        return {"ok": 1}

    return app


async def statuses(app: FastAPI, count: int) -> list[int]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [(await client.get("/items")).status_code for _ in range(count)]


@pytest.mark.parametrize(("persistent", "after_restart"), [(False, [200, 200, 429]), (True, [429])])
async def test_shutdown_clears_the_namespace_unless_persistent(
    make_backend: BackendFactory, persistent: bool, after_restart: list[int]
) -> None:
    backend = make_backend(persistent=persistent)
    assert await statuses(build_app(backend), 3) == [200, 200, 429]
    # A new app instance on the same namespace, after the first one shut down.
    successor = make_backend(namespace=backend.namespace)
    assert await statuses(build_app(successor), len(after_restart)) == after_restart


@pytest.mark.parametrize(("on_error", "expected"), [("allow", 200), ("throttle", 429)])
async def test_a_frozen_server_is_handled_by_on_error_within_a_second(
    server_factory: ServerFactory, clock: ManualClock, on_error: Literal["allow", "throttle"], expected: int
) -> None:
    server = server_factory(MemcachedServer)
    backend = MemcachedBackend([server.address], namespace="frozen", on_error=on_error, clock=clock, persistent=True)
    app = build_app(backend)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/items")).status_code == 200
            server.pause()
            try:
                started = time.perf_counter()
                response = await client.get("/items")
                elapsed = time.perf_counter() - started
            finally:
                server.resume()
    assert response.status_code == expected
    assert elapsed < 1.2
