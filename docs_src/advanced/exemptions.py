"""Exemptions: skip throttling entirely for some clients (no quota used, no backend call)."""

from __future__ import annotations

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.requests import HTTPConnection
from traffik import EXEMPTED, HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.types import Exempted

ADMIN_KEY = "s3cret"


async def identify(connection: HTTPConnection) -> str | Exempted:
    if connection.headers.get("x-admin-key") == ADMIN_KEY:
        return EXEMPTED
    return get_remote_address(connection)


backend = InMemoryBackend(clock=ManualClock(), identifier=identify)  # a default for every throttle on it
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("exempt:api", rate="1/min")


@app.get("/", dependencies=[Depends(throttle)])
async def index() -> str:
    return "hi"


def main() -> None:
    with TestClient(app) as client:
        for _ in range(5):
            assert client.get("/", headers={"x-admin-key": ADMIN_KEY}).status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 429
