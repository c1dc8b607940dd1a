"""A Redis Cluster with replicas on loopback ports, and the admin steps that change its topology.

By default six ``redis-server --cluster-enabled yes`` processes (three primaries,
one replica each) joined by ``redis-cli --cluster create --cluster-replicas 1``,
with a short ``cluster-node-timeout`` so the cluster notices a paused node
quickly. The admin helpers use their own plain redis-py clients, so they never
share connections with the backend under test.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from redis.asyncio import Redis
from traffik.testing import RedisServer, ServerNotInstalledError, free_port, stop_all

__all__ = ["ClusterNodeInfo", "ReplicatedCluster", "replicated_cluster"]

NODE_TIMEOUT_MS = 1000
_READY_S = 30.0


@dataclass(frozen=True)
class ClusterNodeInfo:
    """One line of ``CLUSTER NODES``."""

    node_id: str
    port: int
    primary: bool
    primary_id: str | None
    failed: bool
    slots: tuple[tuple[int, int], ...]

    def owns(self, slot: int) -> bool:
        return any(low <= slot <= high for low, high in self.slots)


def _parse_nodes(text: str) -> list[ClusterNodeInfo]:
    nodes = []
    for line in text.strip().splitlines():
        fields = line.split()
        flags = fields[2].split(",")
        slots = []
        for part in fields[8:]:
            if part.startswith("["):
                continue  # a slot being migrated or imported
            low, _, high = part.partition("-")
            slots.append((int(low), int(high or low)))
        nodes.append(
            ClusterNodeInfo(
                node_id=fields[0],
                port=int(fields[1].split("@")[0].rsplit(":", 1)[1]),
                primary="master" in flags,
                primary_id=None if fields[3] == "-" else fields[3],
                failed="fail" in flags or "fail?" in flags,
                slots=tuple(slots),
            )
        )
    return nodes


@dataclass
class ReplicatedCluster:
    """The running processes; every admin call opens (and closes) its own connection."""

    servers: list[RedisServer]
    primaries: int = 3

    @property
    def url(self) -> str:
        """``redis+cluster://`` with every node as a seed."""
        return "redis+cluster://" + ",".join(f"{s.host}:{s.port}" for s in self.servers)

    def server(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    async def command(self, port: int, *args: object) -> object:
        async with Redis(host="127.0.0.1", port=port, socket_timeout=2.0, socket_connect_timeout=2.0) as client:
            return await client.execute_command(*args)  # type: ignore[no-untyped-call]  # untyped in redis-py

    async def nodes(self, seen_from: int | None = None) -> list[ClusterNodeInfo]:
        """``CLUSTER NODES`` as seen by ``seen_from`` (default: the first running, unpaused node)."""
        port = seen_from or next(s.port for s in self.servers if s.is_running and not s.is_paused)
        raw = await self.command(port, "CLUSTER", "NODES")
        return _parse_nodes(raw.decode() if isinstance(raw, bytes) else str(raw))

    async def keyslot(self, key: str) -> int:
        return int(str(await self.command(self.servers[0].port, "CLUSTER", "KEYSLOT", key)))

    async def owner(self, slot: int, seen_from: int | None = None) -> ClusterNodeInfo:
        return next(n for n in await self.nodes(seen_from) if n.primary and not n.failed and n.owns(slot))

    async def replica_of(self, primary: ClusterNodeInfo) -> ClusterNodeInfo:
        return next(n for n in await self.nodes() if n.primary_id == primary.node_id)

    async def wait_settled(self, limit_s: float = _READY_S) -> float:
        """Seconds until every node reports ``cluster_state:ok`` and no failed node, with replicas in sync."""
        started = time.perf_counter()
        while not await self._settled():
            if time.perf_counter() - started > limit_s:
                raise AssertionError(f"the cluster did not settle within {limit_s:g} s")
            await asyncio.sleep(0.05)
        return time.perf_counter() - started

    async def _settled(self) -> bool:
        try:
            for server in self.servers:
                info = await self.command(server.port, "CLUSTER", "INFO")
                text = info.decode() if isinstance(info, bytes) else str(info)
                if "cluster_state:ok" not in text:
                    return False
                nodes = await self.nodes(server.port)
                if any(n.failed for n in nodes) or sum(1 for n in nodes if n.primary and n.slots) != self.primaries:
                    return False
                replication = await self.command(server.port, "INFO", "replication")
                text = replication.decode() if isinstance(replication, bytes) else str(replication)
                if "role:slave" in text and "master_link_status:up" not in text:
                    return False
        except Exception:  # a node still starting, loading or failing over
            return False
        return True


@contextmanager
def replicated_cluster(primaries: int = 3, replicas: int = 1) -> Iterator[ReplicatedCluster]:
    """Start ``primaries`` primaries with ``replicas`` replicas each; stop them all at the end."""
    servers = [
        RedisServer(
            port=free_port(),
            extra_args=(
                "--cluster-enabled",
                "yes",
                "--cluster-port",
                str(free_port()),
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--repl-diskless-sync",
                "yes",
                "--repl-diskless-sync-delay",
                "0",
            ),
        )
        for _ in range(primaries * (1 + replicas))
    ]
    cli = shutil.which("redis-cli")
    try:
        if cli is None:
            raise ServerNotInstalledError("redis-cli", "redis-tools")
        for server in servers:
            server.start()
        subprocess.run(
            [cli, "--cluster", "create", *(f"{s.host}:{s.port}" for s in servers),
             "--cluster-replicas", str(replicas), "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        cluster = ReplicatedCluster(servers, primaries)
        asyncio.run(cluster.wait_settled())
        yield cluster
    finally:
        for server in servers:
            if server.is_paused:
                server.resume()
        stop_all(servers)
