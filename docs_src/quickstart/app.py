"""Quickstart: a FastAPI route limited to 3 requests a minute per client."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
# initialises the backend and makes it the active one
app = FastAPI(lifespan=backend.lifespan)
# headers on every response (JSONResponse, HTTPException, 422) and the 429 in OpenAPI
install(app)

throttle = HTTPThrottle(
    "quickstart:items",  # unique id: registry key and storage key prefix
    rate="3/min",
    # X-RateLimit-* headers on every response, not only 429s
    headers=DEFAULT_HEADERS_ALWAYS,
)


@app.get("/items", dependencies=[Depends(throttle)])
async def list_items() -> list[str]:
    return ["apple", "banana"]


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # freeze time at 0 ms: the demo never crosses a window edge
    backend.clock = ManualClock()
    with TestClient(app) as client:  # runs the lifespan, like a real server
        for remaining in ("2", "1", "0"):
            response = client.get("/items")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Remaining"] == remaining

        response = client.get("/items")
        assert response.status_code == 429
        assert response.json() == {"detail": "Too many requests. Retry in 60 seconds."}
        assert response.headers["Retry-After"] == "60"

        # install(app) documents the 429 in the OpenAPI schema
        assert "429" in app.openapi()["paths"]["/items"]["get"]["responses"]


# --8<-- [end:demo]
