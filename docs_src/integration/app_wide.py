"""One throttle for the whole app: a global dependency."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend

backend = InMemoryBackend()
# one quota per client, all routes
everything = HTTPThrottle("deps:app", rate="1/min", per_route=False)
app = FastAPI(lifespan=backend.lifespan, dependencies=[Depends(everything)])


@app.get("/a")
async def a() -> str:
    return "a"


@app.get("/b")
async def b() -> str:
    return "b"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert client.get("/a").status_code == 200
        assert client.get("/b").status_code == 429


# --8<-- [end:demo]
