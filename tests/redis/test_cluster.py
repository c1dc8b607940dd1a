"""Every strategy on a real 3-node Redis Cluster: routing, hash tags, clearing every primary."""

from __future__ import annotations

import time

import pytest
from redis.asyncio import Redis, RedisCluster
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer

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


def _node_owning(backend: RedisBackend, cluster: Cluster, state_key: str) -> RedisServer:
    client = backend._client_here()
    assert isinstance(client, RedisCluster)
    owner = client.get_node_from_key(state_key)
    assert owner is not None
    return next(node for node in cluster.nodes if node.port == owner.port)


@pytest.mark.parametrize("client_kind", ["owned", "passed-in"])
async def test_a_timed_out_hit_on_a_paused_node_is_counted_at_most_once(
    redis_cluster: Cluster, client_kind: str
) -> None:
    # redis-py's cluster client retries a command that timed out (three times by default,
    # and in redis-py 5.x whatever `retry` says): each retry would run the script again.
    clock = ManualClock(1_700_000_000_000.0)
    namespace = unique_namespace("cluster")
    passed: RedisCluster | None = None
    if client_kind == "passed-in":
        passed = RedisCluster.from_url(redis_cluster.url, socket_timeout=0.5, socket_connect_timeout=0.5)
        backend = RedisBackend(passed, namespace=namespace, clock=clock)
    else:
        backend = RedisBackend(redis_cluster.url, namespace=namespace, cluster=True, clock=clock)
    strategy, rate = FixedWindow(), Rate.parse("100/min")
    try:
        assert (await backend.hit("paused", strategy, rate)).hits_remaining == 99  # connections are open
        node = _node_owning(backend, redis_cluster, KeyLayout(namespace).state_key("paused", strategy.NAME))
        node.pause()
        try:
            started = time.perf_counter()
            with pytest.raises(BackendTimeoutError):
                await backend.hit("paused", strategy, rate)
            assert time.perf_counter() - started < 1.5
        finally:
            node.resume()  # the node now runs what was sent to it before the timeout
        await backend.peek("paused", strategy, rate)  # queued on the resumed node behind what it had buffered
        counted = 100 - (await backend.peek("paused", strategy, rate, cost=0)).hits_remaining
        assert counted <= 2, f"the timed-out hit was counted {counted - 1} times"
        await backend.clear()
    finally:
        await backend.close()
        if passed is not None:
            await passed.aclose()
