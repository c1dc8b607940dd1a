"""A rate computed per request: a limit per plan."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle, Rate
from traffik.backends.inmemory import InMemoryBackend

PLANS = {"free": Rate.parse("2/min"), "pro": Rate.parse("1000/min")}


async def rate_for_plan(connection: HTTPConnection, context: Mapping[str, Any]) -> Rate:
    plan = connection.headers.get("x-plan", "free")
    plans: dict[str, Rate] = context["plans"]
    return plans.get(plan, plans["free"])


backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("rates:plans", rate=rate_for_plan, context={"plans": PLANS})


@app.get("/", dependencies=[Depends(throttle)])
async def index() -> str:
    return "ok"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
        pro = {"x-plan": "pro"}
        assert all(client.get("/", headers=pro).status_code == 200 for _ in range(10))


# --8<-- [end:demo]
