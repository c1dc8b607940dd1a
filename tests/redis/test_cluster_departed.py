"""A node that leaves the cluster keeps none of the backend's pipelined connections open."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import BackendError
from traffik.rates import Rate
from traffik.strategies import FixedWindow

from tests.redis.cluster_topology import ClusterNodeInfo, ReplicatedCluster, replicated_cluster
from tests.redis.conftest import unique_namespace

pytestmark = pytest.mark.redis

HOUR = Rate.parse("1000/hour")


@pytest.fixture
def three_primaries() -> Iterator[ReplicatedCluster]:
    """A cluster of this test's own: its topology is changed for good."""
    with replicated_cluster(primaries=3, replicas=0) as cluster:
        yield cluster


async def _hit_clients(cluster: ReplicatedCluster, port: int) -> list[str]:
    """The connections on a node whose last command was a hit's: a script, or FixedWindow's SET NX + INCRBY/DECRBY."""
    listing = await cluster.command(port, "CLIENT", "LIST")
    text = listing.decode() if isinstance(listing, bytes) else str(listing)
    hits = ("cmd=evalsha ", "cmd=eval ", "cmd=incrby ", "cmd=decrby ")  # a pair's second command is its last
    return [line for line in text.splitlines() if any(command in line for command in hits)]


async def _everyone_sees(
    cluster: ReplicatedCluster, nodes: list[ClusterNodeInfo], owner: ClusterNodeInfo, slot: int
) -> bool:
    for node in nodes:
        if not any(seen.node_id == owner.node_id and seen.owns(slot) for seen in await cluster.nodes(node.port)):
            return False
    return True


async def _leave(cluster: ReplicatedCluster, departing: ClusterNodeInfo, heir: ClusterNodeInfo) -> None:
    """Hand the departing primary's slots to the heir, then make the cluster forget it (it keeps running)."""
    await cluster.command(departing.port, "FLUSHALL")
    others = [node for node in await cluster.nodes(heir.port) if node.node_id != departing.node_id]
    for low, high in departing.slots:
        for node in [departing, *others]:  # every node forgets who served them...
            await cluster.command(node.port, "CLUSTER", "DELSLOTSRANGE", low, high)
        await cluster.command(heir.port, "CLUSTER", "ADDSLOTSRANGE", low, high)  # ...and the heir claims them
    await cluster.command(heir.port, "CLUSTER", "BUMPEPOCH")  # its claim wins over any stale one
    started = time.perf_counter()
    while not await _everyone_sees(cluster, others, heir, departing.slots[0][0]):
        assert time.perf_counter() - started < 10.0, "the heir's slots did not propagate"
        await asyncio.sleep(0.05)
    for node in others:
        await cluster.command(node.port, "CLUSTER", "FORGET", departing.node_id)
    await cluster.command(departing.port, "CLUSTER", "RESET", "HARD")  # alone now, still up and listening


async def test_connections_to_a_node_that_left_the_topology_are_closed(three_primaries: ReplicatedCluster) -> None:
    cluster = three_primaries
    namespace = unique_namespace("departed")
    backend = RedisBackend(cluster.url, namespace=namespace, clock=ManualClock(1_700_000_010_000.0))
    state_key = KeyLayout(namespace).state_key("client", FixedWindow.NAME)
    try:
        assert (await backend.hit("client", FixedWindow(), HOUR)).allowed
        departing = await cluster.owner(await cluster.keyslot(state_key))
        heir = next(n for n in await cluster.nodes() if n.primary and n.node_id != departing.node_id)
        pipelined = backend._nodes
        assert pipelined is not None
        departing_name = f"127.0.0.1:{departing.port}"
        assert departing_name in pipelined.nodes
        assert await _hit_clients(cluster, departing.port)  # the node's lane (and redis-py's own connection)

        await _leave(cluster, departing, heir)

        # The next hits meet the departed node's refusal, and redis-py refreshes its topology
        # (as after any MOVED or connection error); hits may fail meanwhile, none is retried.
        started = time.perf_counter()
        while departing_name in pipelined.nodes:
            assert time.perf_counter() - started < 10.0, "the departed node's connections are still held"
            try:
                await backend.hit("client", FixedWindow(), HOUR)
            except BackendError:
                await asyncio.sleep(0.05)
        assert await _hit_clients(cluster, departing.port) == []
        assert (await backend.hit("client", FixedWindow(), HOUR)).allowed  # served by the heir now
        assert f"127.0.0.1:{heir.port}" in pipelined.nodes
    finally:
        await backend.close()
