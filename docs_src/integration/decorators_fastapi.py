"""The core decorator on a FastAPI endpoint: take the Request as a parameter."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.throttles import throttled

backend = InMemoryBackend(clock=ManualClock())
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("deco:fastapi", rate="1/min")


@app.get("/report")
@throttled(throttle)
async def report(request: Request) -> dict[str, str]:  # the decorator finds the request argument
    return {"status": "ready"}


def main() -> None:
    with TestClient(app) as client:
        assert client.get("/report").status_code == 200
        denied = client.get("/report")
        assert denied.status_code == 429
        assert denied.json() == {"detail": "Too many requests. Retry in 60 seconds."}
