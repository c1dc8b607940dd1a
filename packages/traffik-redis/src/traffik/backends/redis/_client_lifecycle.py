"""The client of a :class:`~traffik.backends.redis.RedisBackend`: built, kept, followed across event loops, closed.

A backend either builds its client from a URL (it owns it: created on first
use, closed by ``close()``) or is handed one (the application's: used with its
own options, never closed). Either way the connections kept for hits
(:mod:`traffik.backends.redis._connections`) come from that client's pool, and
everything belongs to the event loop that opened it: when the backend is used
from a new loop, what the old loop opened is left behind (see
:meth:`ClientLifecycle._client_here`).

:class:`ClientLifecycle` is a base class of ``RedisBackend``, not an object of
its own, so that a hit reaches its client and kept connections through plain
attributes of the backend: the hit path pays no extra call for this split.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Union, cast

from traffik.backends.redis._cluster import NodePipelines
from traffik.backends.redis._connections import KeptConnections
from traffik.backends.redis._libraries import REDIS_PY, ClientLibrary, library_of
from traffik.backends.redis._pipelining import PipelinedConnections, pipelines
from traffik.backends.redis._urls import URL_SCHEMES, check_url, client_from_url, is_cluster_url
from traffik.exceptions import ConfigurationError

from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = ["ClientLifecycle", "RedisClient"]

RedisClient = Union[Redis, RedisCluster]
"""A redis-py asyncio client: a single server (or Sentinel-managed) one, or a cluster one.

A valkey-py client passed in is used through the same methods, so the backend
types it as its redis-py original (see :mod:`traffik.backends.redis._libraries`).
"""

_logger = logging.getLogger("traffik.backends.redis")


class ClientLifecycle:
    """The part of ``RedisBackend`` that owns its client and the connections kept for hits.

    ``RedisBackend.__init__`` validates its options, then calls :meth:`_adopt`.
    """

    # Set by RedisBackend.__init__ before _adopt() runs.
    max_connections: int
    auto_pipeline: bool
    socket_timeout: float | None
    connect_timeout: float | None
    # Set by _adopt().
    cluster: bool
    call_timeout: float | None
    _url: str | None
    _library: ClientLibrary
    _client: RedisClient | None
    _owns_client: bool
    _kept: KeptConnections | PipelinedConnections | None
    _nodes: NodePipelines | None  # a cluster's auto-pipelined hits
    _loop: asyncio.AbstractEventLoop | None
    _background: set[asyncio.Task[None]]

    def _adopt(self, url: object, cluster: bool) -> None:
        """Take ``url``: a URL to build a client from later, or a client to use as it is.

        ``call_timeout`` is set to ``None`` (no throttle-side timer around each hit)
        wherever this backend bounds every step of a hit itself: connecting, the
        command, asking Sentinel, each by its timeout, while waiting for a kept
        connection is contention, not a failure (see
        :mod:`traffik.backends.redis._connections`). An outer timer would count a
        long queue as an outage. It is left unset (the throttle's default) for a
        client passed in whose commands this backend cannot bound (a cluster or
        single-connection client).

        Raises:
            ConfigurationError: ``url`` is neither a valid URL nor an asyncio client of
                redis-py or valkey-py.
        """
        self._kept = None
        self._nodes = None
        self._loop = None
        self._background = set()
        library = library_of(url)
        if library is not None:
            client = cast(RedisClient, url)  # valkey-py's classes are redis-py's, renamed
            self._url, self._library, self._client, self._owns_client = None, library, client, False
            self.cluster = isinstance(client, library.cluster_client)
            self._kept = self._keep_connections(client)
            self._nodes = self._pipeline_nodes(client)
            if self._kept is not None:
                self.call_timeout = None  # see the docstring
        elif isinstance(url, str):
            check_url(url, cluster)
            self._url, self._library, self._client, self._owns_client = url, REDIS_PY, None, True
            self.call_timeout = None  # see the docstring
            self.cluster = cluster or is_cluster_url(url)
        else:
            raise ConfigurationError(
                f"RedisBackend: url must be a Redis URL ({', '.join(URL_SCHEMES)}) or a redis.asyncio "
                f"(or valkey.asyncio) client, got {url!r}"
            )

    def _client_here(self) -> RedisClient:
        """The client, usable on the running event loop.

        Connections belong to the event loop that opened them. When the backend
        is used from a new loop (each ``asyncio.run``, a ``TestClient`` without
        ``with``, a test framework's fresh loop per test), what the old loop
        opened is left behind: a client this backend made is replaced, and a
        client passed in keeps serving (its pool is the application's) while
        this backend's kept connections go back to it.
        """
        self._follow_loop()
        return self._ensure_client()

    def _follow_loop(self) -> None:
        loop = _running_loop()
        if loop is not self._loop and loop is not None:
            if self._loop is not None:
                self._leave_loop()
            self._loop = loop

    def _leave_loop(self) -> None:
        if self._owns_client:
            # Its sockets belong to a loop that no longer runs them; they are closed when collected.
            self._client, self._kept, self._nodes = None, None, None
            return
        client, old, old_nodes = self._client, self._kept, self._nodes
        assert client is not None  # a client passed in is never dropped
        self._kept = self._keep_connections(client)
        self._nodes = self._pipeline_nodes(client)
        for left in (old, old_nodes):
            if left is not None:
                task = asyncio.get_running_loop().create_task(_hand_back(left))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _ensure_client(self) -> RedisClient:
        client = self._client
        if client is not None:
            return client
        assert self._url is not None  # only a backend built from a URL has no client yet
        options: dict[str, Any] = {
            "socket_timeout": self.socket_timeout,
            "socket_connect_timeout": self.connect_timeout,
            # No retries: a timed-out EVALSHA may have run, and retrying would count it
            # twice; one failed attempt is also what keeps a dead server's cost bounded.
            "retry": Retry(NoBackoff(), 0),
        }
        # Half the pool for the connections kept for hits (which queue for one of
        # theirs), half for everything else (locks, clearing, strategies without a
        # script), so neither starves the other.
        created = client_from_url(self._url, cluster=self.cluster, pool_size=2 * self.max_connections, **options)
        self._client = created
        self._kept = self._keep_connections(created)
        self._nodes = self._pipeline_nodes(created)
        return created

    def _keep_connections(self, client: RedisClient) -> KeptConnections | PipelinedConnections | None:
        """Connections kept for hits, for a plain client; a cluster client routes each command itself.

        At most half the pool's connections are kept, so the rest of the application
        (or this backend's locks and clearing) always finds one.
        """
        if not isinstance(client, self._library.client):
            return None
        plain = cast(Redis, client)  # or valkey-py's Valkey: the same class, renamed
        if plain.single_connection_client:
            return None
        pool = plain.connection_pool
        pool_size = getattr(pool, "max_connections", None)
        limit = self.max_connections
        if isinstance(pool_size, int):
            limit = min(limit, max(1, pool_size // 2))
        # A client passed in keeps its own options, but a hit on it is still bounded by
        # socket_timeout (a default redis-py client has no timeout at all).
        hit_timeout = None if self._owns_client else self.socket_timeout
        if self.auto_pipeline and pipelines(pool):
            return PipelinedConnections(pool, limit, hit_timeout, self._library.errors)
        return KeptConnections(pool, limit, hit_timeout, self._library.errors)

    def _pipeline_nodes(self, client: RedisClient) -> NodePipelines | None:
        """Per-node pipelines for a cluster client's hits, unless off or its nodes run health checks."""
        if not isinstance(client, self._library.cluster_client) or not self.auto_pipeline:
            return None
        nodes = cast(RedisCluster, client)
        if getattr(nodes, "connection_kwargs", {}).get("health_check_interval"):
            return None
        return NodePipelines(nodes, None if self._owns_client else self.socket_timeout, self._library.errors)

    async def _close_client(self) -> None:
        """Hand the kept connections back to the pool, and close the client if this backend built it."""
        client, owned, kept, nodes = self._client, self._owns_client, self._kept, self._nodes
        if nodes is not None:
            await nodes.release_all()
            self._nodes = self._pipeline_nodes(client) if client is not None and not owned else None
        if kept is not None:
            await kept.release_all()
            self._kept = self._keep_connections(client) if client is not None and not owned else None
        if client is None or not owned:
            return
        self._client = None
        if isinstance(client, Redis):
            await client.aclose(close_connection_pool=True)
        else:
            await client.aclose()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _hand_back(kept: KeptConnections | PipelinedConnections | NodePipelines) -> None:
    """Return connections kept on a former event loop to their pool, as redis-py would have them."""
    try:
        await kept.release_all()
    except Exception as exc:  # best effort: those connections are unusable from this loop anyway
        _logger.debug("redis: handing back connections from a former event loop failed: %r", exc)
