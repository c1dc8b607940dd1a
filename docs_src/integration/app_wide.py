"""One throttle for the whole app: a global dependency."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock

backend = InMemoryBackend(clock=ManualClock())
everything = HTTPThrottle("deps:app", rate="1/min", use_method=False)  # one quota per client, all routes
app = FastAPI(lifespan=backend.lifespan, dependencies=[Depends(everything)])


@app.get("/a")
async def a() -> str:
    return "a"


@app.get("/b")
async def b() -> str:
    return "b"


def main() -> None:
    with TestClient(app) as client:
        assert client.get("/a").status_code == 200
        assert client.get("/b").status_code == 429
