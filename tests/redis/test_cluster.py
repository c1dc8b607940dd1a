"""Every strategy on a real 3-node Redis Cluster: routing, hash tags, clearing every primary."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis, RedisCluster
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate

from tests.redis.conftest import Cluster, unique_namespace
from tests.redis.strategies import DEFAULTS

pytestmark = pytest.mark.redis

_KEYS = 24


async def _keys_per_node(cluster: Cluster, pattern: str) -> list[int]:
    counts = []
    for node in cluster.nodes:
        client = Redis.from_url(node.url)
        try:
            counts.append(len(await client.keys(pattern)))
        finally:
            await client.aclose()
    return counts


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_strategy_runs_on_the_cluster_and_clear_reaches_every_primary(name: str, redis_cluster: Cluster) -> None:
    strategy = DEFAULTS[name]
    clock = ManualClock(1_700_000_000_000.0)
    backend = RedisBackend(redis_cluster.url, namespace=unique_namespace("cluster"), cluster=True, clock=clock)
    rate = Rate.parse("2/min")
    try:
        for index in range(_KEYS):
            key = f"client:{index}"
            outcomes = [(await backend.hit(key, strategy, rate)).allowed for _ in range(6)]
            assert outcomes.count(True) >= 1
            assert not outcomes[-1]
            assert not (await backend.peek(key, strategy, rate)).allowed
        counts = await _keys_per_node(redis_cluster, KeyLayout(backend.namespace).scan_pattern)
        assert sum(counts) == _KEYS
        assert sum(1 for count in counts if count) >= 2  # hash tags spread keys over the nodes
        await backend.clear()
        assert await _keys_per_node(redis_cluster, KeyLayout(backend.namespace).scan_pattern) == [0, 0, 0]
    finally:
        await backend.close()


async def test_a_cluster_client_can_be_passed_in(redis_cluster: Cluster) -> None:
    client = RedisCluster.from_url(redis_cluster.url)
    backend = RedisBackend(client, namespace=unique_namespace("cluster"))
    assert backend.cluster
    try:
        assert (await backend.hit("k", DEFAULTS["gcra"], Rate.parse("1/min"))).allowed
        await backend.clear()
        await backend.close()
        assert await client.ping()  # not ours to close
    finally:
        await client.aclose()


async def test_the_script_is_loaded_on_whichever_node_owns_the_key(redis_cluster: Cluster) -> None:
    backend = RedisBackend(redis_cluster.url, namespace=unique_namespace("cluster"), cluster=True)
    try:
        for node in redis_cluster.nodes:
            client = Redis.from_url(node.url)
            await client.script_flush()
            await client.aclose()
        decisions = [
            await backend.hit(f"k{index}", DEFAULTS["fixed-window"], Rate.parse("1/min")) for index in range(9)
        ]
        assert all(decision.allowed for decision in decisions)
        await backend.clear()
    finally:
        await backend.close()


def test_cluster_mode_needs_a_tcp_url() -> None:
    with pytest.raises(ConfigurationError, match="cluster"):
        RedisBackend("unix:///tmp/redis.sock", cluster=True)
