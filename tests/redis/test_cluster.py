"""Every strategy on a real 3-node Redis Cluster: routing, hash tags, clearing every primary."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis, RedisCluster
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import BackendError, BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow

from tests.redis.cluster_topology import ReplicatedCluster, replicated_cluster
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


async def _owner_port(cluster: Cluster, key: str) -> int:
    async with Redis.from_url(cluster.url) as raw:
        slot = int(await raw.execute_command("CLUSTER", "KEYSLOT", key))  # type: ignore[no-untyped-call]
        for low, high, (_, port, *_) in await raw.execute_command("CLUSTER", "SLOTS"):  # type: ignore[no-untyped-call]
            if low <= slot <= high:
                return int(port)
    raise AssertionError(f"no node serves slot {slot}")


@pytest.mark.parametrize("client_kind", ["owned", "passed-in"])
async def test_a_timed_out_hit_on_a_paused_node_is_counted_at_most_once(
    redis_cluster: Cluster, client_kind: str
) -> None:
    # redis-py's cluster client retries a command that timed out (three times by default,
    # and in redis-py 5.x whatever `retry` says): each retry would run the script again.
    clock = ManualClock(1_700_000_000_000.0)
    namespace = unique_namespace("cluster")
    port = await _owner_port(redis_cluster, KeyLayout(namespace).state_key("paused", FixedWindow.NAME))
    node = next(server for server in redis_cluster.nodes if server.port == port)
    # Seeds other than the node to pause, so the client's refresh after the timeout finds the others.
    seeds = [f"{server.host}:{server.port}" for server in redis_cluster.nodes if server is not node]
    passed: RedisCluster | None = None
    if client_kind == "passed-in":
        passed = RedisCluster.from_url(f"redis://{seeds[0]}", socket_timeout=0.5, socket_connect_timeout=0.5)
        backend = RedisBackend(passed, namespace=namespace, clock=clock)
    else:
        backend = RedisBackend(f"redis+cluster://{','.join(seeds)}", namespace=namespace, clock=clock)
    strategy, rate = FixedWindow(), Rate.parse("100/min")
    try:
        assert (await backend.hit("paused", strategy, rate)).hits_remaining == 99  # connections are open
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


# -- a cluster with replicas: failover and slot migration while hits run ----------


@pytest.fixture(scope="module")
def replicated() -> Iterator[ReplicatedCluster]:
    with replicated_cluster() as cluster:
        yield cluster


@dataclass
class HitLog:
    """What a stream of hits saw: successes, failures, and the slowest one."""

    allowed: int = 0
    denied: int = 0
    failed: int = 0
    slowest_s: float = 0.0
    first_success_after: float | None = None

    async def hit(self, backend: RedisBackend, key: str, rate: Rate, since: float | None = None) -> bool:
        started = time.perf_counter()
        try:
            decision = await backend.hit(key, FixedWindow(), rate)
        except BackendError:
            self.failed += 1
            return False
        finally:
            self.slowest_s = max(self.slowest_s, time.perf_counter() - started)
        if decision.allowed:
            self.allowed += 1
        else:
            self.denied += 1
        if since is not None and self.first_success_after is None:
            self.first_success_after = time.perf_counter() - since
        return True


async def _counted(backend: RedisBackend, key: str, rate: Rate) -> int:
    return int(rate.limit - (await backend.peek(key, FixedWindow(), rate, cost=0)).hits_remaining)


async def _exhausts_exactly(backend: RedisBackend, key: str, rate: Rate) -> None:
    """The rest of the limit is admitted, not one hit more: the limit is exact again."""
    left = rate.limit - await _counted(backend, key, rate)
    outcomes = [(await backend.hit(key, FixedWindow(), rate)).allowed for _ in range(left + 2)]
    assert outcomes == [True] * left + [False, False]


@pytest.mark.slow
async def test_a_paused_primary_is_replaced_by_its_replica_without_double_counting(
    replicated: ReplicatedCluster,
) -> None:
    await replicated.wait_settled()
    clock = ManualClock(1_700_000_000_000.0)
    namespace = unique_namespace("failover")
    backend = RedisBackend(replicated.url, namespace=namespace, clock=clock)
    rate = Rate.parse("200/min")
    state_key = KeyLayout(namespace).state_key("client", "fixed-window")
    log = HitLog()
    try:
        await backend.initialize()
        for _ in range(5):
            assert await log.hit(backend, "client", rate)
        primary = await replicated.owner(await replicated.keyslot(state_key))
        replica = await replicated.replica_of(primary)
        assert await replicated.command(primary.port, "WAIT", 1, 2000) == 1  # the replica has the 5 hits
        replicated.server(primary.port).pause()
        try:
            failed_over = time.perf_counter()
            await replicated.command(replica.port, "CLUSTER", "FAILOVER", "TAKEOVER")
            while log.first_success_after is None:
                assert time.perf_counter() - failed_over < 15.0, "hits did not recover after the failover"
                await log.hit(backend, "client", rate, since=failed_over)
        finally:
            replicated.server(primary.port).resume()
        settled = await replicated.wait_settled()
        # Hits sent to the paused primary are lost with its data (it rejoins as a replica);
        # every hit the new primary admitted is counted once.
        assert await _counted(backend, "client", rate) == log.allowed
        assert log.slowest_s < 1.5
        await _exhausts_exactly(backend, "client", rate)
        print(
            f"\nfailover: first hit admitted {log.first_success_after:.2f} s after TAKEOVER "
            f"({log.failed} hits failed meanwhile), topology settled {settled:.2f} s after the resume"
        )
    finally:
        await backend.clear()
        await backend.close()


@pytest.mark.slow
async def test_hits_follow_a_slot_migrated_under_them_without_double_counting(
    replicated: ReplicatedCluster,
) -> None:
    await replicated.wait_settled()
    clock = ManualClock(1_700_000_000_000.0)
    namespace = unique_namespace("migrate")
    backend = RedisBackend(replicated.url, namespace=namespace, clock=clock)
    rate = Rate.parse("5000/min")
    state_key = KeyLayout(namespace).state_key("client", "fixed-window")
    log = HitLog()
    migrating = asyncio.Event()
    done = asyncio.Event()

    async def hammer() -> None:
        while not done.is_set():
            await log.hit(backend, "client", rate)
            if log.allowed == 20:
                migrating.set()

    try:
        await backend.initialize()
        slot = await replicated.keyslot(state_key)
        source = await replicated.owner(slot)
        target = next(n for n in await replicated.nodes() if n.primary and n.slots and n.node_id != source.node_id)
        hits = asyncio.create_task(hammer())
        await asyncio.wait_for(migrating.wait(), 5.0)
        started = time.perf_counter()
        await replicated.command(target.port, "CLUSTER", "SETSLOT", slot, "IMPORTING", source.node_id)
        await replicated.command(source.port, "CLUSTER", "SETSLOT", slot, "MIGRATING", target.node_id)
        await asyncio.sleep(0.05)  # hits now meet ASK for keys already moved
        while keys := await replicated.command(source.port, "CLUSTER", "GETKEYSINSLOT", slot, 100):
            assert isinstance(keys, list)
            await replicated.command(source.port, "MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
            await asyncio.sleep(0.05)  # ASK redirects to the target
        for node in await replicated.nodes():
            if node.primary and node.slots:
                await replicated.command(node.port, "CLUSTER", "SETSLOT", slot, "NODE", target.node_id)
        moved = time.perf_counter() - started
        await asyncio.sleep(0.2)  # hits now meet MOVED from the source
        done.set()
        await hits
        assert (await replicated.owner(slot)).node_id == target.node_id
        assert log.failed == 0, f"{log.failed} hits failed during the migration"
        assert log.slowest_s < 1.5
        assert await _counted(backend, "client", rate) == log.allowed
        await _exhausts_exactly(backend, "client", Rate.parse(f"{log.allowed + 10}/min"))
        print(f"\nmigration: {log.allowed} hits during a {moved:.2f} s migration, none failed or double counted")
    finally:
        done.set()
        await backend.clear()
        await backend.close()
