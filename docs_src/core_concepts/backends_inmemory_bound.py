"""An in-memory backend with a bound on stored keys.

A flood of identities never frees a throttled client.
"""

from __future__ import annotations

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled

clock = ManualClock()
backend = InMemoryBackend(namespace="bounded", clock=clock, max_keys=1_000)
throttle = HTTPThrottle("backends:bounded", rate="5/min", backend=backend)


def request_from(address: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": (address, 1234),
        }
    )


async def throttled(address: str) -> bool:
    try:
        await throttle.hit(request_from(address))
    except ConnectionThrottled:
        return True
    return False


async def main() -> None:
    async with backend:
        for _ in range(5):
            assert not await throttled("203.0.113.9")
        assert await throttled("203.0.113.9")  # out of quota for this minute

        # 10,000 invented IPv6 identities: each gets in, and the store keeps at most
        # 1,000 keys.
        for n in range(10_000):
            assert not await throttled(f"2001:db8::{n:x}")
        assert len(backend) <= 1_000

        # Eviction never frees a throttled client: it is still throttled.
        assert await throttled("203.0.113.9")
