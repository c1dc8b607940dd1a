"""A Memcached backend over two servers (keys are spread with consistent hashing)."""

from __future__ import annotations

import os

from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.memcached import MemcachedBackend
from traffik.exceptions import ConnectionThrottled


def servers_from_env() -> list[tuple[str, int]]:
    raw = os.environ.get("MEMCACHED_SERVERS", "127.0.0.1:11211,127.0.0.1:11212")
    return [
        (host, int(port))
        for host, port in (item.rsplit(":", 1) for item in raw.split(","))
    ]


backend = MemcachedBackend(
    servers=servers_from_env(), namespace="shop-api", persistent=True
)
throttle = HTTPThrottle("backends:memcached", rate="2/hour", backend=backend)


async def main() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "client": ("198.51.100.4", 1),
        }
    )
    async with backend:
        # start from nothing: persistent=True kept earlier runs' counters
        await backend.clear()
        await throttle.hit(request)
        await throttle.hit(request)
        try:
            await throttle.hit(request)
        except ConnectionThrottled:
            pass
        else:
            raise AssertionError("the third hit must be throttled")
        await backend.clear()
