"""Statistics: how much quota a client has left, without spending any."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.strategies import TokenBucket

clock = ManualClock()
backend = InMemoryBackend(clock=clock)
throttle = HTTPThrottle(
    "stats:api", rate="10/s", backend=backend, strategy=TokenBucket()
)


async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    for _ in range(10):
        await throttle.hit(request())

    stat = await throttle.stat(request())  # consumes nothing
    assert stat is not None
    assert stat.hits_remaining == 0
    assert stat.wait_ms == 100.0  # one token refills every 100 ms
    assert stat.rate.limit == 10

    big = await throttle.stat(request(), cost=5)  # when could a hit of cost 5 pass?
    assert big is not None
    assert big.wait_ms == 500.0

    clock.advance(300)
    later = await throttle.stat(request())
    assert later is not None
    assert later.hits_remaining == 3
    assert await throttle.check(request(), cost=3)
    assert not await throttle.check(request(), cost=4)


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.4", 1),
        }
    )
