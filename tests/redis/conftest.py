"""Fixtures for the Redis backend: backends on the shared server, and a 3-node Redis Cluster.

The cluster is three ``redis-server --cluster-enabled yes`` processes on free
loopback ports (each with an explicit cluster-bus port, since ``port + 10000``
may be taken or out of range), joined with ``redis-cli --cluster create`` and
stopped by PID at the end of the session.
"""

from __future__ import annotations

import gc
import itertools
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.testing import RedisServer, ServerNotInstalledError, free_port, stop_all

_names = itertools.count()
_CLUSTER_SIZE = 3
_CLUSTER_READY_S = 20.0


def unique_namespace(prefix: str = "test") -> str:
    """A namespace no other test of this run uses."""
    return f"{prefix}-{next(_names)}"


BackendFactory = Callable[..., RedisBackend]


@pytest.fixture(autouse=True)
def _replaced_cluster_nodes_collected(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on a cluster, collect the nodes redis-py dropped without closing them.

    On a topology refresh (after a timeout, a dead seed, a failover or a migrated
    slot) redis-py 7.x replaces its node objects and leaves the old ones' sockets
    open; their ``ResourceWarning`` would otherwise surface in whichever later test
    the garbage collector happens to run in. Only tests on a cluster (by fixture or
    by name) are collected this way, so a leak anywhere else still fails its own test.
    """
    yield
    names = [request.node.name, *request.fixturenames]
    if any("cluster" in name or name == "replicated" for name in names):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ResourceWarning)
            gc.collect()


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at a realistic epoch time (large values exercise float rounding)."""
    return ManualClock(1_700_000_000_000.0)


@pytest.fixture
async def make_backend(redis_server: RedisServer) -> AsyncIterator[BackendFactory]:
    """Builds backends on the shared server, each in a fresh namespace; cleared and closed at the end."""
    made: list[RedisBackend] = []

    def make(**options: Any) -> RedisBackend:
        options.setdefault("namespace", unique_namespace())
        backend = RedisBackend(options.pop("url", redis_server.url), **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.clear()
        await backend.close()


@pytest.fixture
async def raw_redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    """A plain client on the shared server, for looking at keys directly."""
    client = Redis.from_url(redis_server.url)
    yield client
    await client.aclose()


@dataclass
class Cluster:
    """A running Redis Cluster: its nodes and a URL of one of them."""

    nodes: list[RedisServer]

    @property
    def url(self) -> str:
        return self.nodes[0].url


def _cluster_state_ok(server: RedisServer) -> bool:
    try:
        with socket.create_connection(server.address, timeout=1.0) as sock:
            sock.sendall(b"CLUSTER INFO\r\n")
            data = b""
            while b"cluster_state" not in data or not data.endswith(b"\r\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            return b"cluster_state:ok" in data
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[Cluster]:
    """A 3-primary Redis Cluster (no replicas) on loopback ports, shared by the session."""
    nodes = [
        RedisServer(port=free_port(), extra_args=("--cluster-enabled", "yes", "--cluster-port", str(free_port())))
        for _ in range(_CLUSTER_SIZE)
    ]
    cli = shutil.which("redis-cli")
    try:
        if cli is None:
            raise ServerNotInstalledError("redis-cli", "redis-tools")
        for node in nodes:
            node.start()
        subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"{n.host}:{n.port}" for n in nodes),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        deadline = time.monotonic() + _CLUSTER_READY_S
        while not all(_cluster_state_ok(node) for node in nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in time")
            time.sleep(0.05)
    except BaseException:
        stop_all(nodes)
        raise
    yield Cluster(nodes)
    stop_all(nodes)
