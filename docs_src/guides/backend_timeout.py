"""A hung backend cannot hang requests: every backend call has a timeout."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy


class HungBackend(InMemoryBackend):
    """Stands in for a server that accepted the connection and never answers."""

    call_timeout = 0.05  # seconds; the default for network backends is 1.5

    async def hit(
        self, key: str, strategy: ThrottleStrategy, rate: Rate, cost: int = 1
    ) -> Decision:
        await asyncio.Event().wait()  # forever
        raise AssertionError("unreachable")


throttle = HTTPThrottle(
    "errors:hung", rate="5/s", backend=HungBackend(), on_error="allow"
)


async def main() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.7", 1),
        }
    )
    # BackendTimeoutError after 50 ms -> on_error="allow" -> admitted
    await throttle.hit(request)
