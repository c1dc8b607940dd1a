"""Direct usage: call the throttle yourself, where and when you decide."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI, Request, Response
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("direct:search", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS)


@app.get("/search")
async def search(request: Request, response: Response, q: str = "") -> dict[str, str]:
    if q:  # only non-empty searches count
        # raises ConnectionThrottled (429) when over the limit
        await throttle.hit(request)
        response.headers.update(throttle.response_headers(request))
    return {"q": q}


async def hit_outside_a_route() -> None:
    # Any Starlette HTTPConnection works: a background task, a test, a custom ASGI app.
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/search",
        "headers": [],
        "client": ("192.0.2.1", 1),
    }
    request = Request(scope)
    assert await throttle.check(request)  # check() consumes nothing
    await throttle.hit(request)
    await throttle.hit(request)
    try:
        await throttle.hit(request)
    except ConnectionThrottled as exc:
        retry_after = exc.retry_after
    else:
        raise AssertionError("expected a 429")
    assert retry_after >= 1


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        assert client.get("/search").status_code == 200  # empty: not counted
        first = client.get("/search", params={"q": "a"})
        assert first.headers["X-RateLimit-Remaining"] == "1"
        assert client.get("/search", params={"q": "b"}).status_code == 200
        assert client.get("/search", params={"q": "c"}).status_code == 429
        client.portal.call(hit_outside_a_route)


# --8<-- [end:demo]
