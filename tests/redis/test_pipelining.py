"""Auto-pipelined hits (``RedisBackend(auto_pipeline=True)``, the default) against real Redis servers.

Every reply must reach the hit that sent its command, whatever is cancelled or
times out around it, and no connection may leak. Each caller hits its own key
with a limit no other caller uses, so a reply meant for another caller is out
of the range its own count allows.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from typing import Any

import pytest
from redis.asyncio import Redis, RedisCluster
from traffik.backends.redis import RedisBackend, _connections
from traffik.backends.redis._connections import KeptConnections
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._pipelining import DEFAULT_LANES, WRITE_BATCH, PipelinedConnections
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import GCRA, FixedWindow
from traffik.testing import RedisServer, ServerFactory

from tests.redis.conftest import BackendFactory, Cluster, unique_namespace
from tests.redis.topologies import redis_command
from tests.wire import recorded_writes, redis_commands

pytestmark = pytest.mark.redis

HOUR = 3_600
CALLERS = 24
TIMEOUT = 0.25
_HIT_COMMANDS = (b"EVALSHA", b"INCRBY")  # what starts a hit: a script, or FixedWindow's counter


def _pipelined(backend: RedisBackend) -> PipelinedConnections:
    kept = backend._kept
    assert isinstance(kept, PipelinedConnections)
    return kept


def _clients(server: RedisServer) -> int:
    """Connections the server has open, the one asking included."""
    listing = redis_command(server.address, "CLIENT", "LIST")
    assert isinstance(listing, str)
    return len(listing.strip().splitlines())


def test_auto_pipeline_must_be_a_boolean() -> None:
    with pytest.raises(ConfigurationError, match="auto_pipeline"):
        RedisBackend("redis://localhost", auto_pipeline="yes")  # type: ignore[arg-type]


async def test_concurrent_hits_on_one_key_are_exact(make_backend: BackendFactory) -> None:
    backend = make_backend()
    rate = Rate(limit=100, seconds=HOUR)
    decisions = await asyncio.gather(*(backend.hit("one", FixedWindow(), rate) for _ in range(200)))
    assert sum(decision.allowed for decision in decisions) == 100
    assert sorted(decision.hits_remaining for decision in decisions if decision.allowed) == list(range(100))
    assert _pipelined(backend).held <= DEFAULT_LANES


@pytest.mark.parametrize("strategy", [FixedWindow(), GCRA()], ids=["fixed-window", "gcra"])
async def test_hits_ready_in_one_loop_turn_leave_in_writes_of_a_few_commands(
    make_backend: BackendFactory, strategy: Any
) -> None:
    backend = make_backend()
    rate = Rate(limit=1_000, seconds=HOUR)
    assert (await backend.hit("warm-up", strategy, rate)).allowed  # lanes connected, scripts cached
    with recorded_writes() as writes:
        decisions = await asyncio.gather(*(backend.hit(f"k{i}", strategy, rate) for i in range(50)))
    assert all(decision.allowed for decision in decisions)
    # A lane opened for the burst also writes its handshake (HELLO, CLIENT SETINFO): not hits.
    # A hit is one EVALSHA, or FixedWindow's INCRBY (after its SET NX, in the same write).
    hits = [[command for command in redis_commands(data) if command[0] in _HIT_COMMANDS] for data in writes]
    assert sum(map(len, hits)) == 50  # one command per hit, none resent
    batches = [batch for batch in hits if batch]
    # A lone first one per lane, then the rest, WRITE_BATCH at a time: Redis starts on them early.
    assert len(batches) <= DEFAULT_LANES * (1 + math.ceil(49 / WRITE_BATCH))
    assert max(map(len, batches)) == WRITE_BATCH


async def test_a_cancelled_hit_s_reply_is_read_and_dropped(make_backend: BackendFactory) -> None:
    backend = make_backend()
    rate = Rate(limit=1_000, seconds=HOUR)
    assert (await backend.hit("warm-up", FixedWindow(), rate)).allowed
    tasks = [asyncio.ensure_future(backend.hit(f"key-{i}", FixedWindow(), rate)) for i in range(40)]
    await asyncio.sleep(0)  # every command queued, some written
    for task in tasks[::2]:
        task.cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    for i, outcome in enumerate(outcomes):
        if i % 2:
            assert not isinstance(outcome, BaseException)
            assert outcome.hits_remaining == 999  # its own key's first hit
        else:
            assert isinstance(outcome, asyncio.CancelledError)
    connected = _clients_of(backend)
    # Queued before they were cancelled, the cancelled ones still went out: their replies were
    # read and dropped, and the next hit on each key is its second, as on every other key.
    for i in range(40):
        assert (await backend.hit(f"key-{i}", FixedWindow(), rate)).hits_remaining == 998
    assert _clients_of(backend) == connected  # no connection was dropped for it


def _clients_of(backend: RedisBackend) -> list[int]:
    pipelined = _pipelined(backend)
    return sorted(id(lane.connection) for lane in pipelined._lanes)


async def test_a_silent_server_fails_every_hit_waiting_on_the_lane_then_it_reconnects(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(RedisServer)
    # One lane: a second one would be opened for the burst, and its connect would time out
    # before its commands were written (they would not run).
    backend = RedisBackend(server.url, namespace=unique_namespace(), socket_timeout=TIMEOUT, max_connections=1)
    rate = Rate(limit=1_000, seconds=HOUR)
    try:
        assert (await backend.hit("k", FixedWindow(), rate)).hits_remaining == 999
        server.pause()
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(backend.hit("k", FixedWindow(), rate) for _ in range(20)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        assert all(isinstance(outcome, BackendTimeoutError) for outcome in outcomes), outcomes
        assert elapsed < 10 * TIMEOUT  # one timeout per lane, not one per hit in turn
        server.resume()
        # The 20 commands were written, and ran once Redis woke up: never sent again.
        after = await backend.hit("k", FixedWindow(), rate)
        assert after.hits_remaining == 999 - 20 - 1
        assert _pipelined(backend).held <= DEFAULT_LANES
    finally:
        if server.is_paused:
            server.resume()
        await backend.clear()
        await backend.close()


async def _caller(
    backend: RedisBackend, index: int, hits: int, chaos: random.Random, failures: list[str]
) -> tuple[int, int]:
    """Hits its own key ``hits`` times, cancelling some; returns (answered, attempted) hits.

    Its limit, ``10_000 * (index + 1)``, is no other caller's: a reply for another key
    falls outside the range this caller's own count allows.
    """
    limit = 10_000 * (index + 1)
    rate = Rate(limit=limit, seconds=HOUR)
    key = f"caller-{index}"
    answered = attempted = 0
    for _ in range(hits):
        hit = asyncio.ensure_future(backend.hit(key, FixedWindow(), rate))
        attempted += 1
        if chaos.random() < 0.3:
            for _ in range(chaos.randrange(3)):
                await asyncio.sleep(0)  # cancelled before or after its command was written
            hit.cancel()
        try:
            decision = await hit
        except (asyncio.CancelledError, BackendError):
            continue
        answered += 1
        remaining = decision.hits_remaining
        if not limit - attempted <= remaining <= limit - answered:
            failures.append(f"{key}: {remaining} remaining after {answered} answered of {attempted} hits")
    return answered, attempted


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_cancellations_and_timeouts_never_hand_a_reply_to_the_wrong_hit(
    server_factory: ServerFactory, seed: int
) -> None:
    server = server_factory(RedisServer)
    chaos = random.Random(seed)
    client = Redis.from_url(server.url)
    backend = RedisBackend(client, namespace=unique_namespace(), socket_timeout=TIMEOUT)
    failures: list[str] = []

    async def freeze_now_and_then() -> None:
        for _ in range(3):
            await asyncio.sleep(chaos.uniform(0.01, 0.1))
            server.pause()
            await asyncio.sleep(chaos.uniform(0.5, 2) * TIMEOUT)  # some hits time out, some do not
            server.resume()

    try:
        results = await asyncio.gather(
            *(_caller(backend, i, 60, random.Random(seed * 1000 + i), failures) for i in range(CALLERS)),
            freeze_now_and_then(),
        )
        assert not failures, failures
        # Quiet again: each key's count lies between its answered and its attempted hits.
        for i, result in enumerate(results[:CALLERS]):
            assert result is not None
            answered, attempted = result
            limit = 10_000 * (i + 1)
            decision = await backend.hit(f"caller-{i}", FixedWindow(), Rate(limit=limit, seconds=HOUR))
            assert limit - attempted - 1 <= decision.hits_remaining <= limit - answered - 1
        kept = _pipelined(backend)
        assert kept.held <= DEFAULT_LANES
        assert kept.in_flight == 0
        assert len(client.connection_pool._in_use_connections) == kept.held  # nothing leaked
        await backend.close()
        assert len(client.connection_pool._in_use_connections) == 0
    finally:
        if server.is_paused:
            server.resume()
        await backend.clear()
        await backend.close()
        await client.aclose()
    assert _clients(server) == 1  # only the one asking: every socket was closed


async def test_close_hands_the_lanes_back_to_an_application_client(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    pool = client.connection_pool
    backend = RedisBackend(client, namespace=unique_namespace())
    rate = Rate(limit=100, seconds=HOUR)
    try:
        await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), rate) for i in range(50)))
        assert len(pool._in_use_connections) == _pipelined(backend).held >= 1
        await backend.close()
        assert len(pool._in_use_connections) == 0
        assert (await backend.hit("again", FixedWindow(), rate)).allowed  # the backend still works
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose()


async def test_a_read_only_replica_fails_the_hits_and_every_lane_reconnects(server_factory: ServerFactory) -> None:
    primary = server_factory(RedisServer)
    replica = server_factory(lambda: RedisServer(extra_args=("--replicaof", primary.host, str(primary.port))))
    backend = RedisBackend(replica.url, namespace="replica")
    rate = Rate(limit=100, seconds=HOUR)
    try:
        outcomes = await asyncio.gather(
            *(backend.hit(f"k{i}", FixedWindow(), rate) for i in range(10)), return_exceptions=True
        )
        assert all(isinstance(outcome, BackendConnectionError) for outcome in outcomes), outcomes
        assert any("read-only replica" in str(outcome) for outcome in outcomes)
        assert _pipelined(backend).lanes == 0  # every lane left the demoted server
        assert redis_command(replica.address, "REPLICAOF", "NO", "ONE") == "OK"  # promoted: the next hit counts
        assert (await backend.hit("k", FixedWindow(), rate)).allowed
    finally:
        await backend.close()


async def test_unrecognised_streams_still_pipeline_through_redis_py_s_public_api(
    make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_connections, "_streams", lambda connection: None)  # a redis-py that renamed them
    backend = make_backend()
    rate = Rate(limit=100, seconds=HOUR)
    decisions = await asyncio.gather(*(backend.hit("one", FixedWindow(), rate) for _ in range(150)))
    assert sum(decision.allowed for decision in decisions) == 100
    assert all(lane.public for lane in _pipelined(backend)._lanes)


async def test_a_server_restart_between_hits_is_noticed_before_the_next_one(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    backend = RedisBackend(server.url, namespace=unique_namespace())
    rate = Rate(limit=100, seconds=HOUR)
    try:
        assert (await backend.hit("k", FixedWindow(), rate)).allowed
        assert redis_command(server.address, "CLIENT", "KILL", "TYPE", "normal") is not None
        await asyncio.sleep(0.05)  # the close reaches the idle lane's socket
        assert (await backend.hit("k", FixedWindow(), rate)).hits_remaining == 98
    finally:
        await backend.clear()
        await backend.close()


async def test_a_health_checked_client_keeps_a_connection_per_hit(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, health_check_interval=3600)
    backend = RedisBackend(client, namespace=unique_namespace())
    try:
        assert isinstance(backend._kept, KeptConnections)  # redis-py's PING would land mid-stream
    finally:
        await backend.close()
        await client.aclose()


async def test_auto_pipeline_false_keeps_a_connection_per_hit(make_backend: BackendFactory) -> None:
    backend = make_backend(auto_pipeline=False)
    assert (await backend.hit("k", FixedWindow(), Rate(limit=5, seconds=HOUR))).allowed
    assert isinstance(backend._kept, KeptConnections)


async def test_a_reply_that_arrived_while_the_event_loop_was_held_up_is_not_a_timeout(
    make_backend: BackendFactory,
) -> None:
    # The watchdog fires late when the loop was busy (thousands of requests arriving in one
    # turn); the reply is already in the socket's buffer then, and gets one more turn.
    backend = make_backend(socket_timeout=TIMEOUT)
    rate = Rate(limit=100, seconds=HOUR)
    assert (await backend.hit("k", FixedWindow(), rate)).allowed
    hit = asyncio.ensure_future(backend.hit("k", FixedWindow(), rate))
    # Right after the hit is written, the event loop is held up (as by a burst of work) for
    # longer than the timeout, while the reply arrives.
    asyncio.get_running_loop().call_soon(time.sleep, 3 * TIMEOUT)
    assert (await hit).hits_remaining == 98


# -- Redis Cluster: grouped per node ----------------------------------------------------


async def test_cluster_hits_are_pipelined_per_node_and_exact(redis_cluster: Cluster) -> None:
    backend = RedisBackend(redis_cluster.url, namespace=unique_namespace("cluster"), cluster=True)
    rate = Rate(limit=50, seconds=HOUR)
    keys = [f"key-{index}" for index in range(12)]  # spread over the three primaries' slots
    try:
        decisions = await asyncio.gather(*(backend.hit(key, FixedWindow(), rate) for key in keys for _ in range(60)))
        for position in range(len(keys)):
            own = decisions[position * 60 : (position + 1) * 60]
            assert sum(decision.allowed for decision in own) == 50
        pipelined = backend._nodes
        assert pipelined is not None
        assert len(pipelined.nodes) == 3  # one group of connections per node
        assert pipelined.held <= 3
        with recorded_writes() as writes:
            await asyncio.gather(*(backend.hit(key, FixedWindow(), rate) for key in keys for _ in range(10)))
        hits = [[command for command in redis_commands(data) if command[0] in _HIT_COMMANDS] for data in writes]
        assert sum(map(len, hits)) == 120
        batches = [batch for batch in hits if batch]
        # Per node: a lone first command, then the rest WRITE_BATCH at a time (the last write may be short).
        assert len(batches) <= 3 * 2 + math.ceil(120 / WRITE_BATCH)
        assert max(map(len, batches)) <= WRITE_BATCH
    finally:
        await backend.clear()
        await backend.close()


async def test_a_moved_slot_is_followed_without_counting_twice(redis_cluster: Cluster) -> None:
    # A client whose slot map is wrong (as after a resharding) gets MOVED: the node did not
    # run the script, so it is sent where redis-py's routing says, once.
    client = RedisCluster.from_url(redis_cluster.url)
    backend = RedisBackend(client, namespace=unique_namespace("cluster"))
    rate = Rate(limit=50, seconds=HOUR)
    try:
        assert (await backend.hit("moved", FixedWindow(), rate)).hits_remaining == 49
        state_key = KeyLayout(backend.namespace).state_key("moved", FixedWindow.NAME)
        owner = client.get_node_from_key(state_key)
        assert owner is not None
        wrong = next(node for node in client.get_primaries() if node.name != owner.name)
        slot = client.keyslot(state_key)
        client.nodes_manager.slots_cache[slot] = [wrong]  # a stale slot map
        assert (await backend.hit("moved", FixedWindow(), rate)).hits_remaining == 48
        now_owner = client.get_node_from_key(state_key)
        assert now_owner is not None
        assert now_owner.name == owner.name  # the map was updated
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose()
