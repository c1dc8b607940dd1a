"""Real servers for integration tests, from traffik.testing."""

from __future__ import annotations

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.testing import RedisServer


async def exercise(url: str) -> None:
    clock = ManualClock(1_000_000.0)
    # a test fixture: cleared at the end (a deployment says persistent=True)
    backend = RedisBackend(url, namespace="tests", persistent=False, clock=clock)
    throttle = HTTPThrottle("testing:redis", rate="1/min", backend=backend)
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.2", 1),
        }
    )
    async with backend:
        await throttle.hit(request)
        assert not await throttle.check(request)
        clock.advance(60_000)
        assert await throttle.check(request)


async def main() -> None:
    # a fresh redis-server on a free port, stopped on exit
    with RedisServer() as server:
        await exercise(server.url)
