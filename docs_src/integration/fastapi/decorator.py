"""traffik-fastapi: @throttled under @app.get, several throttles, sync endpoints."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
app = install(FastAPI(lifespan=backend.lifespan))

burst = HTTPThrottle("docs:decorator:burst", rate="5/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle(
    "docs:decorator:sustained", rate="100/min", headers=DEFAULT_HEADERS_ALWAYS
)


@app.get("/items/{item_id}")
@throttled(burst, sustained)  # under @app.get; both limits apply, in order
async def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.get("/report")
@throttled(sustained)
def report() -> PlainTextResponse:  # sync endpoints work too (in the threadpool)
    return PlainTextResponse("all good")  # its own Response: still gets the headers


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        item = client.get("/items/3", params={"q": "x"})
        statuses = [client.get("/items/3").status_code for _ in range(5)]
        report = client.get("/report")
    assert item.json() == {"item_id": 3, "q": "x"}
    assert item.headers["x-ratelimit-limit"] == "5"
    # burst allows 5 a second: the 6th request in this frozen second is throttled
    assert statuses == [200, 200, 200, 200, 429]
    assert report.text == "all good"
    assert report.headers["x-ratelimit-limit"] == "100"


# --8<-- [end:demo]
