"""ThrottleMiddleware: throttles that run before routing.

Filtered by path, method or predicate.
"""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI, Request
from starlette.middleware import Middleware
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import MiddlewareThrottle, ThrottleMiddleware

backend = InMemoryBackend()

api = HTTPThrottle("mw:api", rate="3/min", headers=DEFAULT_HEADERS_ALWAYS)
writes = HTTPThrottle("mw:writes", rate="1/min")


async def is_anonymous(request: Request) -> bool:
    return "authorization" not in request.headers


app = FastAPI(
    lifespan=backend.lifespan,
    middleware=[
        Middleware(
            ThrottleMiddleware,
            middleware_throttles=[
                MiddlewareThrottle(api, path="/api/**"),  # every path under /api
                MiddlewareThrottle(
                    writes, methods={"POST", "PUT"}, predicate=is_anonymous
                ),
            ],
            backend=backend,  # also made the active backend for each request
        )
    ],
)


@app.get("/api/items")
async def items() -> list[int]:
    return [1, 2]


@app.post("/api/items")
async def create() -> dict[str, bool]:
    return {"created": True}


@app.get("/health")
async def health() -> str:
    return "ok"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        ok = client.get("/api/items")
        assert ok.headers["X-RateLimit-Remaining"] == "2"  # headers on every response
        assert client.post("/api/items").status_code == 200
        assert client.post("/api/items").status_code == 429  # anonymous writes: 1/min
        assert (
            client.post("/api/items", headers={"authorization": "Bearer t"}).status_code
            == 200
        )
        # not under /api: never throttled
        assert client.get("/health").status_code == 200
        assert client.get("/api/items").status_code == 200
        assert client.get("/api/items").status_code == 200
        denied = client.get("/api/items")  # the 4th GET /api/items this minute
        assert denied.status_code == 429
        # FastAPI's JSON handler
        assert denied.json() == {"detail": "Too many requests. Retry in 60 seconds."}
        assert denied.headers["Retry-After"] == "60"


# --8<-- [end:demo]
