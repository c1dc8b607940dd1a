"""Tutorial, step 1: a FastAPI service with its first limit."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

# where the counters live: this process's memory, for now (step 7 moves them to Redis)
backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
install(app)  # headers on every response, the 429 in the OpenAPI schema

# "step1:notes" names the throttle: its registry key and its storage key prefix
notes_limit = HTTPThrottle("step1:notes", rate="5/min")

NOTES = ["buy milk", "water the plants"]


@app.get("/notes")
@throttled(notes_limit)  # under @app.get, so FastAPI registers the throttled endpoint
async def list_notes() -> list[str]:
    return NOTES


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:  # runs the lifespan, as uvicorn does
        statuses = [client.get("/notes").status_code for _ in range(6)]
        assert statuses == [200, 200, 200, 200, 200, 429]

        response = client.get("/notes")
        assert response.json() == {"detail": "Too many requests. Retry in 60 seconds."}
        assert response.headers["Retry-After"] == "60"

        # the OpenAPI schema documents the 429 (install(app) adds it)
        responses = client.get("/openapi.json").json()["paths"]["/notes"]["get"]
        assert "429" in responses["responses"]


# --8<-- [end:demo]
