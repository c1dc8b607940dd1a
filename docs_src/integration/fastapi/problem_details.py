"""traffik-fastapi: RFC 9457 problem details for throttled requests."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
login = HTTPThrottle("docs:problem:login", rate="3/min")

# Throttled requests get an RFC 9457 application/problem+json body.
app = install(
    FastAPI(lifespan=backend.lifespan),
    problem_details=True,
    problem_type="https://example.com/problems/rate-limit",
)


@app.post("/login")
@throttled(login)
async def log_in() -> dict[str, bool]:
    return {"ok": True}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        statuses = [client.post("/login").status_code for _ in range(4)]
        denied = client.post("/login")
    assert statuses == [200, 200, 200, 429]
    assert denied.headers["content-type"] == "application/problem+json"
    assert denied.json()["type"] == "https://example.com/problems/rate-limit"


# --8<-- [end:demo]
