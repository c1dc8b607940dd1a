"""Quickstart: a FastAPI route limited to 3 requests a minute per client."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)  # (1)!

throttle = HTTPThrottle(
    "quickstart:items",  # (2)!
    rate="3/min",
    headers=DEFAULT_HEADERS_ALWAYS,  # (3)!
)


@app.get("/items", dependencies=[Depends(throttle)])
async def list_items() -> list[str]:
    return ["apple", "banana"]


def main() -> None:
    backend.clock = ManualClock(1_000.0)  # freeze time: the demo never crosses a window edge
    with TestClient(app) as client:  # runs the lifespan, like a real server
        for remaining in ("2", "1", "0"):
            response = client.get("/items")
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Remaining"] == remaining

        response = client.get("/items")
        assert response.status_code == 429
        assert response.json() == {"detail": "Too many requests. Retry in 59 seconds."}
        assert response.headers["Retry-After"] == "59"
