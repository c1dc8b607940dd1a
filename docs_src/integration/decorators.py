"""The Starlette decorator: @throttled(*throttles) on an endpoint."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.throttles import throttled

backend = InMemoryBackend(clock=ManualClock())
burst = HTTPThrottle("deco:burst", rate="2/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle("deco:sustained", rate="100/hour", headers=DEFAULT_HEADERS_ALWAYS)


@throttled(burst, sustained)  # every throttle applies, in order
async def homepage(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", homepage)], lifespan=backend.lifespan)


def main() -> None:
    with TestClient(app) as client:
        first = client.get("/")
        assert first.status_code == 200
        assert first.headers["X-RateLimit-Limit"] == "2"  # the most restrictive throttle's headers win
        assert client.get("/").status_code == 200
        third = client.get("/")
        assert third.status_code == 429
        assert third.headers["content-type"].startswith("text/plain")  # Starlette renders 429 as text
        assert third.text == "Too many requests. Retry in 1 seconds."
