"""Running a hit on a Redis Cluster exactly once.

redis-py's ``RedisCluster`` retries a command that failed with a timeout or a
connection error (``cluster_error_retry_attempts`` in redis-py 5.x, the
``retry`` object later, three times by default). For a hit that is wrong: a
script that timed out may well have run, and running it again counts the hit
twice. Naming the target node turns those retries off for the call (redis-py
retries only commands it routes itself), while redirects keep working: a
``MOVED`` or ``ASK`` reply means the node did not run the script, and redis-py
follows it to the right node, then updates its slot map.

The node is looked up from redis-py's slot map, after letting the client run a
topology refresh that an earlier error asked for, so a failover or a migrated
slot is picked up by the next hit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from traffik.backends.redis._libraries import ClientErrors
from traffik.backends.redis._pipelining import PipelinedConnections

from redis.asyncio import RedisCluster
from redis.asyncio.cluster import ClusterNode
from redis.asyncio.connection import AbstractConnection, ConnectionPool

__all__ = ["NodePipelines", "run_once"]


async def run_once(client: RedisCluster, key: str, *args: Any) -> Any:
    """Send ``args`` (a one-key command on ``key``) to the node owning ``key``: never retried, redirects followed.

    Raises:
        redis.exceptions.RedisError: The node failed or timed out (the command may have run).
        redis.exceptions.RedisClusterException: No node serves the key's slot.
    """
    await client.initialize()  # returns at once unless a refresh is due
    node = client.get_node_from_key(key)
    return await client.execute_command(*args, target_nodes=node)


class _NodePool:
    """What :class:`~traffik.backends.redis._pipelining.PipelinedConnections` needs of a pool, for one cluster node.

    Connections are made as the node makes its own (``connection_class(**connection_kwargs)``:
    address, credentials, TLS, timeouts), connected with ``connection.connect()``, and closed
    when given back: they are this backend's, never the node's.
    """

    def __init__(self, node: ClusterNode, encoder: Any) -> None:
        self.node = node
        self.connection_kwargs: dict[str, Any] = node.connection_kwargs
        self._encoder = encoder

    def get_encoder(self) -> Any:
        return self._encoder

    async def get_connection(self) -> AbstractConnection:
        connection: AbstractConnection = self.node.connection_class(**self.connection_kwargs)
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        await connection.disconnect()


class NodePipelines:
    """Auto-pipelined hits on a cluster: one :class:`PipelinedConnections` per node, found from the key's slot.

    A reply saying the node did not run the command (``MOVED``, ``ASK``, ``TRYAGAIN``,
    ``CLUSTERDOWN``) sends it through :func:`run_once` instead, which follows the
    redirect and updates the slot map; that is not a retry. A node whose connection
    failed has its next hits sent through :func:`run_once` too, until one succeeds, so
    redis-py sees the failure and refreshes the topology (a promoted replica, a new node).
    After a refresh, the connections to a node that is no longer in redis-py's topology
    are closed (hits in flight on them end first): a departed node keeps none open.

    Args:
        client: The cluster client (its slot map and node options are used, its connections are not).
        hit_timeout: As for ``PipelinedConnections``.
        errors: The client library's exceptions.
    """

    def __init__(self, client: RedisCluster, hit_timeout: float | None, errors: ClientErrors) -> None:
        self.client = client
        self._hit_timeout = hit_timeout
        self._errors = errors
        self._failures = (errors.connection, errors.timeout, OSError)
        self._nodes: dict[str, PipelinedConnections] = {}
        self._suspect: set[str] = set()
        self._encoder = client.get_encoder()
        self.encode: Callable[[str], bytes] = self._encoder.encode

    @property
    def held(self) -> int:
        """Connections open for hits, over every node."""
        return sum(pipelines.held for pipelines in self._nodes.values())

    @property
    def nodes(self) -> tuple[str, ...]:
        """The nodes hits were pipelined to."""
        return tuple(self._nodes)

    async def call(self, key: str, command: bytes, *args: Any, before: tuple[Any, ...] | None = None) -> Any:
        """Run ``command`` (packed; ``args`` unpacked, for :func:`run_once`) on the node owning ``key``.

        With ``before`` (a command on the same key to run first, unpacked), ``command`` packs
        both, ``before``'s first, sent as a pair (:meth:`PipelinedConnections.call_pair`): the
        reply to ``args`` is returned, ``before``'s dropped. A pair that was not run (a redirect
        reaches both commands: they share their key), or bound for a suspect node, goes through
        :func:`run_once` twice in sequence, two round trips: rare enough to pay them.
        """
        client = self.client
        # redis-py's flag for "refresh the topology before the next command", set by its error
        # paths: when set, the call below refreshes, and a departed node's lanes are closed.
        refresh_due = getattr(client, "_initialize", True)
        await client.initialize()  # returns at once unless a refresh is due
        if refresh_due and self._nodes:
            await self._leave_departed_nodes()
        node = client.get_node_from_key(key)
        if node is None:  # no node serves the slot (mid-failover): redis-py says so
            return await self._routed(key, args, before)
        if node.name in self._suspect:
            reply = await self._routed(key, args, before)
            self._suspect.discard(node.name)
            return reply
        pipelines = self._nodes.get(node.name)
        if pipelines is None:
            pipelines = self._nodes[node.name] = PipelinedConnections(
                cast(ConnectionPool, _NodePool(node, self._encoder)), 1, self._hit_timeout, self._errors
            )
        try:
            if before is None:
                return await pipelines.call(command)
            return await pipelines.call_pair(command)
        except self._errors.not_run:
            return await self._routed(key, args, before)
        except self._failures:
            self._suspect.add(node.name)
            raise

    async def _routed(self, key: str, args: tuple[Any, ...], before: tuple[Any, ...] | None = None) -> Any:
        """:func:`run_once` (for ``before``, then ``args``), then close the lanes of nodes a refresh dropped.

        The redirects and errors that send a hit this way are the ones after which redis-py
        refreshes its topology (inside the call), so this is where a departed node shows.
        """
        try:
            if before is not None:
                await run_once(self.client, key, *before)
            return await run_once(self.client, key, *args)
        finally:
            if self._nodes:
                await self._leave_departed_nodes()

    async def _leave_departed_nodes(self) -> None:
        """Close the connections to nodes the refreshed topology no longer has."""
        known = self.client.nodes_manager.nodes_cache
        for name in [name for name in self._nodes if name not in known]:
            pipelines = self._nodes.pop(name)
            self._suspect.discard(name)
            await pipelines.release_all()

    async def release_all(self) -> None:
        """Close every node's connections (hits in flight end first)."""
        nodes, self._nodes = self._nodes, {}
        for pipelines in nodes.values():
            await pipelines.release_all()
