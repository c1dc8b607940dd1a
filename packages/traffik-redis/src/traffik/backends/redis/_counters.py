"""Plain counter commands (``INCRBY`` with ``PEXPIRE``, ``GET``, ``DECRBY``) on the routes a script hit takes.

A counter needs no script: ``INCRBY key cost`` then ``PEXPIRE key ttl`` costs
Redis about a quarter of the server time of the cheapest one-``INCRBY`` Lua
script. The two go together as a *pair*: packed in one buffer, written at once on
one connection, ``INCRBY`` first (``PEXPIRE`` first would leave a new key
without a TTL), and never sent again (a ``INCRBY`` that timed out may have run).
The caller gets the ``INCRBY`` reply; the ``PEXPIRE`` reply is read and dropped.

Routes, as for a script hit in ``RedisBackend._run``:

* **Kept connections** (``auto_pipeline=False``, or a client with health checks):
  both written at once, both replies read, the first returned
  (:meth:`~traffik.backends.redis._connections.KeptConnections.call_pair`).
* **Auto-pipelined lanes**: the pair is one unit of a lane's write buffer, with two
  pending replies (:meth:`~traffik.backends.redis._pipelining.PipelinedConnections.call_pair`).
* **A cluster, pipelined per node** (:class:`~traffik.backends.redis._cluster.NodePipelines`):
  as lanes; after ``MOVED``/``ASK``/``TRYAGAIN``/``CLUSTERDOWN`` on the ``INCRBY``, or
  on a node under suspicion, the two go through :func:`~traffik.backends.redis._cluster.run_once`
  in sequence (two round trips, on those rare paths only).
* **A cluster without per-node pipelines** (``auto_pipeline=False``, or health checks):
  two :func:`~traffik.backends.redis._cluster.run_once` calls in sequence, as the script
  path uses it: never retried, redirects followed, redis-py's own failure handling.
* **A single-connection client**: its own ``incrby`` then ``pexpire``, under its own
  options, as its ``evalsha`` would be. redis-py lets its one connection carry one
  command at a time (its pipelines take connections from the pool instead, which would
  not be one connection any more), so these are two round trips, ``INCRBY`` first.

Each function raises the client library's exceptions untranslated: the caller
translates them (and resets a counter damaged by a ``WRONGTYPE`` reply).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from traffik.backends.redis._cluster import run_once
from traffik.backends.redis._commands import bulk, command

if TYPE_CHECKING:
    from traffik.backends.redis._client_lifecycle import ClientLifecycle

    from redis.asyncio import RedisCluster

__all__ = ["count", "pack_count", "read_count", "uncount"]

_INCRBY: Final = b"*3\r\n" + bulk(b"INCRBY")
_PEXPIRE: Final = b"*3\r\n" + bulk(b"PEXPIRE")


def pack_count(key: bytes, cost: int, ttl_ms: int) -> bytes:
    """``INCRBY key cost`` then ``PEXPIRE key ttl_ms``, packed as one buffer to write at once."""
    packed_key = bulk(key)
    return b"".join((_INCRBY, packed_key, bulk(b"%d" % cost), _PEXPIRE, packed_key, bulk(b"%d" % ttl_ms)))


async def count(owner: ClientLifecycle, key: str, cost: int, ttl_ms: int) -> int:
    """``INCRBY key cost`` and ``PEXPIRE key ttl_ms`` in one write, one round trip: the count after."""
    client = owner._client_here()
    kept = owner._kept
    if kept is not None:
        return int(await kept.call_pair(pack_count(kept.encode(key), cost, ttl_ms)))
    if owner.cluster:
        nodes = owner._nodes
        if nodes is not None:
            pair = pack_count(nodes.encode(key), cost, ttl_ms)
            return int(await nodes.call(key, pair, "INCRBY", key, cost, then=("PEXPIRE", key, ttl_ms)))
        cluster = cast("RedisCluster", client)
        reply = await run_once(cluster, key, "INCRBY", key, cost)
        await run_once(cluster, key, "PEXPIRE", key, ttl_ms)
        return int(reply)
    counted = await client.incrby(key, cost)
    await client.pexpire(key, ttl_ms)
    return int(counted)


async def read_count(owner: ClientLifecycle, key: str) -> bytes | str | None:
    """``GET key``: the counter's bytes (``str`` where the client decodes replies), ``None`` if missing."""
    client = owner._client_here()
    kept = owner._kept
    reply: bytes | str | None
    if kept is not None:
        reply = await kept.call(command(b"GET", kept.encode(key)))
    elif owner.cluster:
        nodes = owner._nodes
        if nodes is not None:
            reply = await nodes.call(key, command(b"GET", nodes.encode(key)), "GET", key)
        else:
            reply = await run_once(cast("RedisCluster", client), key, "GET", key)
    else:
        reply = await client.get(key)
    return reply


async def uncount(owner: ClientLifecycle, key: str, cost: int) -> None:
    """``DECRBY key cost`` (a cost given back)."""
    client = owner._client_here()
    kept = owner._kept
    if kept is not None:
        await kept.call(command(b"DECRBY", kept.encode(key), b"%d" % cost))
    elif owner.cluster:
        nodes = owner._nodes
        if nodes is not None:
            await nodes.call(key, command(b"DECRBY", nodes.encode(key), b"%d" % cost), "DECRBY", key, cost)
        else:
            await run_once(cast("RedisCluster", client), key, "DECRBY", key, cost)
    else:
        await client.decrby(key, cost)
