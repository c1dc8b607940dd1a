"""Backend failures: on_error policies, and the timeout on every backend call."""

from __future__ import annotations

# --8<-- [start:example]
from typing import Any

from starlette.requests import HTTPConnection, Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import BackendConnectionError, ConnectionThrottled
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy


class BrokenBackend(InMemoryBackend):
    """Stands in for a Redis that went away."""

    async def hit(
        self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1
    ) -> Decision:
        raise BackendConnectionError("connection refused")


failures: list[str] = []


async def fail_open_for_reads(connection: HTTPConnection, info: Any) -> str:
    # info: {"exception", "throttle", "backend", "cost", "context"}
    failures.append(f"{info['throttle'].uid}: {info['exception']}")
    return "allow" if connection.scope.get("method") == "GET" else "throttle"


backend = BrokenBackend()
# default: "throttle"
fail_closed = HTTPThrottle("errors:closed", rate="5/s", backend=backend)
fail_open = HTTPThrottle("errors:open", rate="5/s", backend=backend, on_error="allow")
loud = HTTPThrottle("errors:raise", rate="5/s", backend=backend, on_error="raise")
custom = HTTPThrottle(
    "errors:custom", rate="5/s", backend=backend, on_error=fail_open_for_reads
)


# --8<-- [end:example]


# --8<-- [start:demo]
async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    try:
        await fail_closed.hit(request())
    except ConnectionThrottled as exc:
        retry_after = exc.retry_after
    else:
        raise AssertionError("fail closed")
    assert retry_after == 1  # rejected with a 1 s wait

    await fail_open.hit(request())  # admitted

    try:
        await loud.hit(request())
    except BackendConnectionError:
        pass
    else:
        raise AssertionError("re-raised")

    await custom.hit(request("GET"))
    try:
        await custom.hit(request("POST"))
    except ConnectionThrottled:
        pass
    else:
        raise AssertionError("writes fail closed")
    assert failures == ["errors:custom: connection refused"] * 2


# --8<-- [end:demo]


def request(method: str = "GET") -> Request:
    return Request(
        {
            "type": "http",
            "method": method,
            "path": "/",
            "headers": [],
            "client": ("192.0.2.5", 1),
        }
    )
