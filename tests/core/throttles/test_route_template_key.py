"""Counters are per route template: varying path parameters cannot multiply a client's quota."""

from __future__ import annotations

import httpx
from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry


async def test_path_parameters_share_the_route_counter() -> None:
    backend = InMemoryBackend(clock=ManualClock(1_000.0))
    throttle = HTTPThrottle("items", rate="2/min", backend=backend, registry=ThrottleRegistry())
    app = FastAPI()

    @app.get("/items/{item_id}", dependencies=[Depends(throttle)])
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    @app.get("/other/{item_id}", dependencies=[Depends(throttle)])
    async def read_other(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        statuses = [(await client.get(f"/items/{i}")).status_code for i in range(3)]
        other = (await client.get("/other/1")).status_code
    assert statuses == [200, 200, 429]
    assert other == 200  # another route template keeps its own counter
