"""Exemptions: skip throttling entirely for some clients.

No quota used, no backend call.
"""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from starlette.requests import HTTPConnection
from traffik import EXEMPTED, HTTPThrottle, get_remote_address
from traffik.backends.inmemory import InMemoryBackend
from traffik.types import Exempted

ADMIN_KEY = "s3cret"


async def identify(connection: HTTPConnection) -> str | Exempted:
    if connection.headers.get("x-admin-key") == ADMIN_KEY:
        return EXEMPTED
    return get_remote_address(connection)


# a default for every throttle on it
backend = InMemoryBackend(identifier=identify)
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("exempt:api", rate="1/min")


@app.get("/", dependencies=[Depends(throttle)])
async def index() -> str:
    return "hi"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        for _ in range(5):
            assert (
                client.get("/", headers={"x-admin-key": ADMIN_KEY}).status_code == 200
            )
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 429


# --8<-- [end:demo]
