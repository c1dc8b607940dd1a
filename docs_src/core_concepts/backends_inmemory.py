"""The in-memory backend, driven by a manual clock."""

from __future__ import annotations

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled

clock = ManualClock()
backend = InMemoryBackend(namespace="demo", clock=clock)
throttle = HTTPThrottle("backends:inmemory", rate="2/s", backend=backend)


def make_request() -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("203.0.113.9", 1234),
        }
    )


async def main() -> None:
    async with backend:  # what the lifespan does: initialise, then clear on exit
        await throttle.hit(make_request())
        await throttle.hit(make_request())
        try:
            await throttle.hit(make_request())
        except ConnectionThrottled as exc:
            status = exc.status_code
        else:
            raise AssertionError("the third hit in one second must be throttled")
        assert status == 429

        clock.advance(1_000)  # a new window: no sleeping needed
        await throttle.hit(make_request())
