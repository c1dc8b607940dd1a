"""Redis behind Sentinel.

A redis+sentinel:// URL, or your own redis-py Sentinel client.
"""

from __future__ import annotations

# --8<-- [start:example]
import asyncio
import os
import uuid

from redis.asyncio.sentinel import Sentinel
from traffik.backends import backend_from_url
from traffik.backends.redis import RedisBackend
from traffik.rates import Rate
from traffik.strategies import FixedWindow

# Every Sentinel of the deployment, then the service name given to `sentinel monitor`.
REDIS_SENTINEL_URL = os.environ.get(
    "REDIS_SENTINEL_URL",
    "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/mymaster",
)


async def hits_through_sentinel() -> list[bool]:
    backend = backend_from_url(
        REDIS_SENTINEL_URL, namespace=f"api-{uuid.uuid4().hex[:8]}"
    )
    assert isinstance(backend, RedisBackend)
    # start-up: asks Sentinel where the primary is, loads the scripts there
    async with backend:
        rate = Rate.parse("2/min")
        return [
            (await backend.hit("alice", FixedWindow(), rate)).allowed for _ in range(3)
        ]


async def hits_with_your_own_client(
    sentinels: list[tuple[str, int]], service: str
) -> list[bool]:
    # A master_for() client is a redis.asyncio.Redis: pass it as the url. Its options
    # are
    # kept (and it is never closed by the backend); socket_timeout still bounds each
    # hit.
    sentinel = Sentinel(sentinels, socket_timeout=0.5)
    client = sentinel.master_for(service, socket_timeout=0.5)
    backend = RedisBackend(
        client,
        namespace=f"api-{uuid.uuid4().hex[:8]}",
        persistent=True,
        socket_timeout=0.5,
    )
    try:
        async with backend:
            rate = Rate.parse("1/min")
            return [
                (await backend.hit("bob", FixedWindow(), rate)).allowed
                for _ in range(2)
            ]
    finally:
        await client.aclose()
        for connection in sentinel.sentinels:  # the application closes what it opened
            await connection.aclose()


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    assert asyncio.run(hits_through_sentinel()) == [True, True, False]
    # The same deployment, reached through a client built by the application.
    hosts, _, service = REDIS_SENTINEL_URL.removeprefix("redis+sentinel://").partition(
        "/"
    )
    sentinels = [
        (host, int(port))
        for host, _, port in (entry.rpartition(":") for entry in hosts.split(","))
    ]
    assert asyncio.run(hits_with_your_own_client(sentinels, service)) == [True, False]


# --8<-- [end:demo]
