"""Multiple limits on one route: a burst limit and a sustained limit."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
burst = HTTPThrottle("multi:burst", rate="2/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle(
    "multi:sustained", rate="5/min", headers=DEFAULT_HEADERS_ALWAYS
)

app = FastAPI(lifespan=backend.lifespan)


# both must pass, in order
@app.get("/search", dependencies=[Depends(burst), Depends(sustained)])
async def search() -> list[str]:
    return []


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    clock = backend.clock = ManualClock()  # time moves only when the demo says
    with TestClient(app) as client:
        statuses = []
        for _ in range(4):  # 4 seconds, 2 requests each
            statuses += [
                client.get("/search").status_code,
                client.get("/search").status_code,
            ]
            clock.advance(1_000)
        # the 6th hits the 5/min limit
        assert statuses == [200, 200, 200, 200, 200, 429, 429, 429]

        response = client.get("/search")
        # For each header the most restrictive throttle wins: here the exhausted
        # sustained limit.
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert response.headers["X-RateLimit-Remaining"] == "0"


# --8<-- [end:demo]
