"""traffik-fastapi: install(app) documents throttled routes in the OpenAPI schema."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
public = HTTPThrottle("docs:openapi:public", rate="100/min", use_method=False)
internal = HTTPThrottle("docs:openapi:internal", rate="10/s")

# install(app, openapi=False) would document nothing
app = install(FastAPI(lifespan=backend.lifespan))


@app.get("/public")
@throttled(public)  # documented: a 429 response, its headers, "100/min per client"
async def public_route() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/internal")
@throttled(internal, openapi=False)  # throttled, but left out of the schema
async def internal_route() -> dict[str, str]:
    return {"hello": "ops"}


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
    public_429 = paths["/public"]["get"]["responses"]["429"]
    assert "100/min per client" in public_429["description"]
    assert "429" not in paths["/internal"]["get"]["responses"]


# --8<-- [end:demo]
