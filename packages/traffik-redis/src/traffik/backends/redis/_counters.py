"""Plain counter commands (``SET NX`` + ``INCRBY``, ``GET``, ``SET NX`` + ``DECRBY``) on the routes a script hit takes.

A counter needs no script: ``SET key 0 PX ttl NX`` then ``INCRBY key cost`` costs
Redis about a quarter of the server time of the cheapest one-``INCRBY`` Lua
script. The two go together as a *pair*: packed in one buffer, written at once on
one connection, in that order, and never sent again (an ``INCRBY`` that timed out
may have run). The caller gets the second reply (the ``INCRBY``'s); the first (the
``SET``'s) is read and dropped. Why ``SET NX`` first, rather than ``INCRBY`` then
``PEXPIRE``:

* **No key without a TTL, on any route.** The hit that creates the key gives it its
  TTL before counting in it; later hits find the key and leave its TTL alone. Where
  the two commands go one at a time (a cluster without per-node pipelines, a
  single-connection client, :func:`~traffik.backends.redis._cluster.run_once` after a
  redirect), a failure between them leaves at worst a zero counter that expires;
  ``INCRBY`` first left a counted key that never would.
* **One write propagated per hit, not two.** ``PEXPIRE`` is a write on every hit,
  sent to every replica and appended to the AOF; a ``SET NX`` that finds the key
  changes nothing and is not propagated, so a hit in a live window propagates its
  ``INCRBY`` alone.
* **The same server time**: 1.8 to 3.2 µs per hit against 1.9 to 2.5 µs for
  ``INCRBY`` + ``PEXPIRE`` (pipelined through redis-py, one run each).

The TTL is therefore set once per window, by the hit that creates its key (the
caller passes the window's end minus now plus ``clock_margin_ms``). A cost given
back (:func:`uncount`) is the same kind of pair, ``SET NX`` then ``DECRBY``, with the
TTL its hit used: a key that expired meanwhile comes back with a TTL (holding a
negative count, which the counter treats as damaged and resets on its next hit).

Routes, as for a script hit in ``RedisBackend._run``:

* **Kept connections** (``auto_pipeline=False``, or a client with health checks):
  both written at once, both replies read, the second returned
  (:meth:`~traffik.backends.redis._connections.KeptConnections.call_pair`).
* **Auto-pipelined lanes**: the pair is one unit of a lane's write buffer, with two
  pending replies (:meth:`~traffik.backends.redis._pipelining.PipelinedConnections.call_pair`).
* **A cluster, pipelined per node** (:class:`~traffik.backends.redis._cluster.NodePipelines`):
  as lanes; after ``MOVED``/``ASK``/``TRYAGAIN``/``CLUSTERDOWN`` (both commands get it:
  they share their key), or on a node under suspicion, the two go through
  :func:`~traffik.backends.redis._cluster.run_once` in sequence (two round trips, on
  those rare paths only).
* **A cluster without per-node pipelines** (``auto_pipeline=False``, or health checks):
  two :func:`~traffik.backends.redis._cluster.run_once` calls in sequence, as the script
  path uses it: never retried, redirects followed, redis-py's own failure handling.
* **A single-connection client**: its own ``set`` then ``incrby`` (or ``decrby``), under
  its own options, as its ``evalsha`` would be. redis-py lets its one connection carry
  one command at a time (its pipelines take connections from the pool instead, which
  would not be one connection any more), so these are two round trips.

Each function raises the client library's exceptions untranslated: the caller
translates them (and resets a counter damaged by a ``WRONGTYPE`` reply). Where both
commands are refused (read-only replica, memory limit, a key outside an ACL user's
patterns, a redirect), the caller gets the second's error; a ``SET NX`` on a key of
another type finds the key and answers nil, leaving ``INCRBY`` its ``WRONGTYPE``. A
``SET`` refused alone (an ACL user allowed ``INCRBY`` but not ``SET``) fails the call
with its error on every route, although the ``INCRBY`` ran: silently, every window's
counter would be left without a TTL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, cast

from traffik.backends.redis._cluster import run_once
from traffik.backends.redis._commands import bulk, command

if TYPE_CHECKING:
    from traffik.backends.redis._client_lifecycle import ClientLifecycle, RedisClient

    from redis.asyncio import RedisCluster

__all__ = ["count", "pack_count", "pack_uncount", "read_count", "uncount"]

_SET: Final = b"*6\r\n" + bulk(b"SET")
_ZERO_PX: Final = bulk(b"0") + bulk(b"PX")
_NX: Final = bulk(b"NX")
_INCRBY: Final = b"*3\r\n" + bulk(b"INCRBY")
_DECRBY: Final = b"*3\r\n" + bulk(b"DECRBY")


def _pack_pair(verb: bytes, key: bytes, amount: int, ttl_ms: int) -> bytes:
    packed_key = bulk(key)
    return b"".join((_SET, packed_key, _ZERO_PX, bulk(b"%d" % ttl_ms), _NX, verb, packed_key, bulk(b"%d" % amount)))


def pack_count(key: bytes, cost: int, ttl_ms: int) -> bytes:
    """``SET key 0 PX ttl_ms NX`` then ``INCRBY key cost``, packed as one buffer to write at once."""
    return _pack_pair(_INCRBY, key, cost, ttl_ms)


def pack_uncount(key: bytes, cost: int, ttl_ms: int) -> bytes:
    """``SET key 0 PX ttl_ms NX`` then ``DECRBY key cost``, packed as one buffer to write at once."""
    return _pack_pair(_DECRBY, key, cost, ttl_ms)


async def count(owner: ClientLifecycle, key: str, cost: int, ttl_ms: int) -> int:
    """``SET key 0 PX ttl_ms NX`` and ``INCRBY key cost`` in one write, one round trip: the count after."""
    client = owner._client_here()
    kept = owner._kept
    if kept is not None:
        return int(await kept.call_pair(pack_count(kept.encode(key), cost, ttl_ms)))
    return int(await _one_at_a_time_or_per_node(owner, client, _INCRBY, key, cost, ttl_ms))


async def uncount(owner: ClientLifecycle, key: str, cost: int, ttl_ms: int) -> None:
    """``SET key 0 PX ttl_ms NX`` and ``DECRBY key cost`` (a cost given back; ``ttl_ms``: its hit's)."""
    client = owner._client_here()
    kept = owner._kept
    if kept is not None:
        await kept.call_pair(pack_uncount(kept.encode(key), cost, ttl_ms))
    else:
        await _one_at_a_time_or_per_node(owner, client, _DECRBY, key, cost, ttl_ms)


async def _one_at_a_time_or_per_node(
    owner: ClientLifecycle, client: RedisClient, verb: bytes, key: str, amount: int, ttl_ms: int
) -> Any:
    """The pair on a cluster or a single-connection client (see the module docstring): the second reply."""
    name = "INCRBY" if verb is _INCRBY else "DECRBY"
    if owner.cluster:
        nodes = owner._nodes
        set_nx = ("SET", key, 0, "PX", ttl_ms, "NX")
        if nodes is not None:
            pair = _pack_pair(verb, nodes.encode(key), amount, ttl_ms)
            return await nodes.call(key, pair, name, key, amount, before=set_nx)
        cluster = cast("RedisCluster", client)
        await run_once(cluster, key, *set_nx)
        return await run_once(cluster, key, name, key, amount)
    await client.set(key, 0, px=ttl_ms, nx=True)
    if verb is _INCRBY:
        return await client.incrby(key, amount)
    return await client.decrby(key, amount)


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
