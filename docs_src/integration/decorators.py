"""The Starlette decorator: @throttled(*throttles) on an endpoint."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.throttles import throttled

backend = InMemoryBackend()
burst = HTTPThrottle("deco:burst", rate="2/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle(
    "deco:sustained", rate="100/hour", headers=DEFAULT_HEADERS_ALWAYS
)


@throttled(burst, sustained)  # every throttle applies, in order
async def homepage(request: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", homepage)], lifespan=backend.lifespan)


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from starlette.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        first = client.get("/")
        assert first.status_code == 200
        # the most restrictive throttle's headers win
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert client.get("/").status_code == 200
        third = client.get("/")
        assert third.status_code == 429
        # Starlette renders 429 as text
        assert third.headers["content-type"].startswith("text/plain")
        assert third.text == "Too many requests. Retry in 1 second."


# --8<-- [end:demo]
