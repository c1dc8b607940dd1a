"""Deleting one namespace's keys: ``SCAN`` + ``UNLINK``, on every primary of a cluster, never ``FLUSHDB``.

``SCAN MATCH <namespace>:*`` finds this namespace's keys and nothing else (see
:mod:`traffik.backends.redis._keys`); ``UNLINK`` frees their memory off the
server's main thread, in batches so that no single command is large.
"""

from __future__ import annotations

from typing import Any, Final, cast

from traffik.backends.redis._client_lifecycle import RedisClient

from redis.asyncio import RedisCluster

__all__ = ["clear_namespace"]

_UNLINK_BATCH: Final = 500
_SCAN_COUNT: Final = 1000


async def clear_namespace(client: RedisClient, pattern: str, *, cluster: bool) -> None:
    """Unlink every key that ``pattern`` (a ``SCAN MATCH`` pattern) matches, on every primary.

    ``cluster`` says whether ``client`` is a cluster client (of redis-py or valkey-py).

    Raises:
        redis.exceptions.RedisError: Redis failed (the caller translates it; valkey-py's own with a
            valkey-py client).
    """
    if cluster:
        nodes = cast(RedisCluster, client)
        keys = nodes.scan_iter(match=pattern, count=_SCAN_COUNT, target_nodes=RedisCluster.PRIMARIES)
    else:
        keys = client.scan_iter(match=pattern, count=_SCAN_COUNT)
    batch: list[Any] = []
    async for found in keys:
        batch.append(found)
        if len(batch) >= _UNLINK_BATCH:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)
