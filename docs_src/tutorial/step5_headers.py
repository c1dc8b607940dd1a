"""Tutorial, step 5: tell clients their quota in response headers."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

# --8<-- [start:example]
from traffik.headers import DRAFT_RATELIMIT_HEADERS

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
install(app)  # without it, a Response the endpoint builds itself loses the headers

notes_limit = HTTPThrottle(
    "step5:notes",
    rate="5/min",
    # RateLimit and RateLimit-Policy (IETF draft) on every response
    headers=DRAFT_RATELIMIT_HEADERS,
)


@app.get("/notes")
@throttled(notes_limit)
async def list_notes() -> JSONResponse:
    return JSONResponse(["buy milk", "water the plants"])


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        response = client.get("/notes")
        assert response.status_code == 200
        assert response.headers["RateLimit-Policy"] == '"default";q=5;w=60'
        assert response.headers["RateLimit"] == '"default";r=4;t=60'
        for _ in range(4):
            client.get("/notes")
        throttled_response = client.get("/notes")
        assert throttled_response.status_code == 429
        assert throttled_response.headers["RateLimit"] == '"default";r=0;t=60'
        assert throttled_response.headers["Retry-After"] == "60"


# --8<-- [end:demo]
