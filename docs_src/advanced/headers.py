"""Response headers: presets, custom headers, conditions, and per-call overrides."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI, Request
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import (
    DEFAULT_HEADERS_THROTTLED,
    DRAFT_RATELIMIT_HEADERS,
    Header,
    Headers,
)
from traffik.types import StrategyStat


def low_quota(
    connection: HTTPConnection, stat: StrategyStat, context: Mapping[str, Any]
) -> bool:
    return stat.hits_remaining < stat.rate.limit / 2  # a custom condition


headers = Headers(
    {
        "X-RateLimit-Limit": Header.LIMIT(when="always"),
        "X-RateLimit-Remaining": Header.REMAINING(when="always"),
        # "throttled": out of quota
        "Retry-After": Header.RESET_SECONDS(when="throttled"),
        "X-Quota-Warning": Header("running low", when=low_quota),
        # a plain string is sent on every response
        "X-Docs": "https://example.com/limits",
    }
)

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
throttle = HTTPThrottle("headers:api", rate="4/min", headers=headers)
draft = HTTPThrottle("headers:draft", rate="10/min", headers=DRAFT_RATELIMIT_HEADERS)


@app.get("/items", dependencies=[Depends(throttle)])
async def items() -> list[int]:
    return [1]


@app.get("/draft", dependencies=[Depends(draft)])
async def draft_route() -> list[int]:
    return [1]


@app.get("/quota")
async def quota(request: Request) -> dict[str, str]:
    # Resolve headers yourself: suppress one, add one, for this call only.
    return await throttle.get_headers(
        request,
        headers={
            "Retry-After": Header.DISABLE,
            "X-Extra": Header("yes", when="always"),
        },
    )


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        first = client.get("/items")
        assert first.headers["X-RateLimit-Remaining"] == "3"
        assert "Retry-After" not in first.headers
        assert "X-Quota-Warning" not in first.headers
        assert first.headers["X-Docs"] == "https://example.com/limits"
        client.get("/items")
        # 1 left of 4
        assert client.get("/items").headers["X-Quota-Warning"] == "running low"
        last = client.get("/items")
        # Spent the last unit: "throttled" headers appear, saying when the window
        # resets.
        assert last.status_code == 200
        assert last.headers["Retry-After"] == "60"
        denied = client.get("/items")
        assert denied.status_code == 429
        assert denied.headers["Retry-After"] == "60"

        assert client.get("/draft").headers["RateLimit-Policy"] == '"default";q=10;w=60'
        assert client.get("/quota").json()["X-Extra"] == "yes"

    # Presets are read-only; derive your own with | (the right side wins).
    mine = DEFAULT_HEADERS_THROTTLED | {"Retry-After": Header.DISABLE}
    assert mine["Retry-After"] is Header.DISABLE
    assert "Retry-After" in DEFAULT_HEADERS_THROTTLED


# --8<-- [end:demo]
