"""An outage is not abuse: the default 429 says so, and a handler may answer 503."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import (
    BACKEND_ERROR_KEY,
    BackendConnectionError,
    ConnectionThrottled,
)
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy


class BrokenBackend(InMemoryBackend):
    """Stands in for a Redis that went away."""

    async def hit(
        self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1
    ) -> Decision:
        raise BackendConnectionError("connection refused")


async def unavailable_is_503(
    request: Any, wait_ms: float, throttle: Any, context: Mapping[str, Any]
) -> None:
    if BACKEND_ERROR_KEY in context:  # called because the store failed
        raise HTTPException(503, "Rate limiting is unavailable", {"Retry-After": "1"})
    raise ConnectionThrottled(wait_ms)


backend = BrokenBackend()
default = HTTPThrottle("outage:default", rate="5/s", backend=backend)
as_503 = HTTPThrottle(
    "outage:503", rate="5/s", backend=backend, handle_throttled=unavailable_is_503
)


# --8<-- [end:example]


# --8<-- [start:demo]
async def main() -> None:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": []})
    try:
        await default.hit(request)
    except ConnectionThrottled as exc:
        status, detail = exc.status_code, exc.detail
    else:
        raise AssertionError("on_error='throttle' rejects")
    assert status == 429
    assert detail == "Rate limit service unavailable. Retry in 1 second."
    try:
        await as_503.hit(request)
    except HTTPException as exc:
        status = exc.status_code
    else:
        raise AssertionError("the handler answers 503")
    assert status == 503


# --8<-- [end:demo]
