"""Changing a throttle while the app runs."""

from __future__ import annotations

# --8<-- [start:example]
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.strategies import SlidingWindowLog

backend = InMemoryBackend(clock=ManualClock())
throttle = HTTPThrottle("direct:updates", rate="1/min", backend=backend)


async def main() -> None:
    # request(): a Starlette Request from one client (defined below)
    await throttle.hit(request())
    assert not await throttle.check(request())

    await throttle.update_rate("5/min")  # an incident is over: raise the limit
    assert await throttle.check(request())

    # e.g. switch this endpoint to an exact window
    await throttle.update_strategy(SlidingWindowLog())
    await throttle.update_min_wait_period(5_000)  # throttled clients wait at least 5 s

    await throttle.disable()
    assert throttle.is_disabled
    await throttle.enable()


# --8<-- [end:example]


def request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("192.0.2.9", 1),
        }
    )
