"""traffik-fastapi: ThrottleMiddleware in a FastAPI app sets the headers itself."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import ThrottleMiddleware
from traffik.throttles import MiddlewareThrottle

backend = InMemoryBackend()
api = HTTPThrottle("docs:middleware:api", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS)

app = FastAPI(lifespan=backend.lifespan)
# The middleware runs the throttle before routing and sets the headers on every
# response itself.
app.add_middleware(
    ThrottleMiddleware,
    middleware_throttles=[MiddlewareThrottle(api, path="/api/**")],
)


@app.get("/api/users/{user_id}")
async def user(user_id: int) -> dict[str, int]:
    return {"user_id": user_id}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        responses = [client.get("/api/users/1") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0].headers["x-ratelimit-remaining"] == "1"
    assert responses[2].json() == {"detail": "Too many requests. Retry in 60 seconds."}


# --8<-- [end:demo]
