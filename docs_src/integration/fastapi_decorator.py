"""traffik-fastapi: @throttled under @app.get.

And install(app) for headers and OpenAPI.
"""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
# headers on every response, 429s in the OpenAPI schema
app = install(FastAPI(lifespan=backend.lifespan))

burst = HTTPThrottle("fastapi:burst", rate="2/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle(
    "fastapi:sustained", rate="100/min", headers=DEFAULT_HEADERS_ALWAYS
)


@app.get("/items/{item_id}")
# under the route decorator; the endpoint keeps its signature
@throttled(burst, sustained)
async def read_item(item_id: int) -> dict[str, int]:
    return {"item_id": item_id}


@app.get("/raw", dependencies=[throttled(burst)])  # also usable as a dependency
async def raw() -> JSONResponse:
    # install() puts the headers on this Response too
    return JSONResponse({"raw": True})


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        ok = client.get("/items/1")
        assert ok.json() == {"item_id": 1}
        # the most restrictive throttle's headers
        assert ok.headers["X-RateLimit-Limit"] == "2"
        assert client.get("/items/1").status_code == 200
        assert client.get("/items/1").status_code == 429
        # The key holds the route template: /items/2 shares the counter of
        # /items/{item_id}.
        assert client.get("/items/2").status_code == 429

        assert client.get("/raw").headers["X-RateLimit-Remaining"] == "1"

        schema = client.get("/openapi.json").json()
        assert "429" in schema["paths"]["/items/{item_id}"]["get"]["responses"]


# --8<-- [end:demo]
