"""Compose the backend's lifespan with your own start-up and shutdown code."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend

backend = InMemoryBackend(namespace="composed")
events: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    events.append("my start-up")
    async with backend(app):  # same as backend.lifespan(app)
        yield
    events.append("my shutdown")


app = FastAPI(lifespan=lifespan)
# no backend=: uses the lifespan's
throttle = HTTPThrottle("backends:composed", rate="10/min")


@app.get("/", dependencies=[Depends(throttle)])
async def index() -> dict[str, bool]:
    return {"ok": True}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        assert client.get("/").status_code == 200
    assert events == ["my start-up", "my shutdown"]


# --8<-- [end:demo]
