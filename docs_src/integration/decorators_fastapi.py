"""The core decorator on a FastAPI endpoint: take the Request as a parameter."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI, Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.throttles import throttled

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("deco:fastapi", rate="1/min")


@app.get("/report")
@throttled(throttle)
# the decorator finds the request argument
async def report(request: Request) -> dict[str, str]:
    return {"status": "ready"}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert client.get("/report").status_code == 200
        denied = client.get("/report")
        assert denied.status_code == 429
        assert denied.json() == {"detail": "Too many requests. Retry in 60 seconds."}


# --8<-- [end:demo]
