"""traffik-fastapi: ThrottledRoute sets the headers of one router, no install()."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import ThrottledRoute
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
throttle = HTTPThrottle(
    "docs:route-class", rate="10/min", headers=DEFAULT_HEADERS_ALWAYS
)

app = FastAPI(lifespan=backend.lifespan)
# Without install(): the route class puts the headers on this router's responses.
router = APIRouter(route_class=ThrottledRoute, dependencies=[Depends(throttle)])


@router.get("/text")
async def text() -> PlainTextResponse:
    return PlainTextResponse("hello")


app.include_router(router)


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        response = client.get("/text")
    assert response.text == "hello"
    assert response.headers["x-ratelimit-remaining"] == "9"


# --8<-- [end:demo]
