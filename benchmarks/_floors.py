"""The floor beneath each backend: the cheapest store operation one hit could cost.

* memory: an awaited bare dict increment;
* redis: a bare ``EVALSHA`` of a trivial script (one round trip, one script call);
* memcached: a bare ``incr`` through the backend's own client.

A plugin backend has no floor here (its ratios print as ``-``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from traffik.backends.base import ThrottleBackend

from benchmarks._targets import Target

__all__ = ["FloorOp", "floor_operation"]

FloorOp = Callable[[str], Awaitable[object]]
"""One floor operation on a key (the key is ignored where the floor has none)."""


@contextlib.asynccontextmanager
async def floor_operation(target: Target, backend: ThrottleBackend) -> AsyncIterator[FloorOp | None]:
    """Yield the floor operation for ``target`` (``None`` for a plugin backend), cleaning up after it.

    Args:
        target: The backend being measured.
        backend: Its initialised backend (the memcached floor borrows its client).
    """
    if target.name == "memory":
        counts: dict[str, int] = {}

        async def increment(key: str) -> int:
            value = counts.get(key, 0) + 1
            counts[key] = value
            return value

        yield increment
    elif target.name == "redis" and target.redis_url is not None:
        from redis.asyncio import Redis

        redis = Redis.from_url(target.redis_url)
        try:
            sha = await redis.script_load("return 1")

            async def evalsha(key: str) -> object:
                return await redis.evalsha(sha, 0)

            yield evalsha
        finally:
            await redis.aclose()
    elif target.name == "memcached":
        from traffik.backends.memcached import MemcachedBackend

        assert isinstance(backend, MemcachedBackend)
        memcached = backend._clients[0]
        prefix = f"bench-floor-{uuid.uuid4().hex[:8]}-"
        created: set[bytes] = set()

        async def incr(key: str) -> object:
            name = (prefix + str(hash(key) % 1000)).encode()
            if name not in created:
                created.add(name)
                await memcached.set(name, b"0", 600)
            return await memcached.incr(name, 1)

        try:
            yield incr
        finally:
            for name in created:
                await memcached.delete(name)
    else:
        yield None
