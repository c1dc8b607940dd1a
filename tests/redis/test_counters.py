"""Plain counter commands (``RedisBackend._count``: ``SET NX`` + ``INCRBY``; ``_read_count``; ``_uncount``).

Every route a script hit takes is checked against real Redis servers: auto-pipelined
lanes, a connection per hit (``auto_pipeline=False``, and a client passed in with
health checks), a cluster pipelined per node and one without, and a single-connection
client. A count's two commands go on one connection, in order, in one write; its reply
never reaches another caller, whatever is cancelled; a silent server fails the waiting
counts with a timeout; an error reply reaches its caller and leaves the connection in step.
The TTL is set by the count that creates the key and left alone by the next ones; a
give-back on an expired key, and a failure between the two commands where they go one at
a time, leave no key without a TTL.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
from redis.asyncio import ConnectionPool, Redis, RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from traffik.backends.redis import RedisBackend, _connections
from traffik.backends.redis._counters import pack_count, pack_uncount
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._pipelining import DEFAULT_LANES, PipelinedConnections
from traffik.testing import RedisServer, ServerFactory

from tests.redis.conftest import Cluster, unique_namespace
from tests.redis.topologies import redis_command
from tests.wire import recorded_writes, redis_commands

pytestmark = pytest.mark.redis

HOUR_MS = 3_600_000
SLACK_MS = 30_000  # real time a loaded machine may take between setting a TTL and reading it
TIMEOUT = 0.25  # the frozen-server test's socket_timeout: it waits this out on purpose
PATIENT = 5.0  # every other test's: a loaded CI machine may take more than TIMEOUT to answer
CONNECTING = ("hello", "client|setinfo", "select", "ping")  # a connection's handshake (and health check)
HITS = 60  # per round of the cancellation test: costs 2**0 .. 2**59 fit Redis's 64-bit integers

STANDALONE = ["pipelined", "kept", "health-checked", "public-path", "resp3", "single-connection"]
CLUSTERED = ["cluster", "cluster-unpipelined"]
ROUTES = STANDALONE + CLUSTERED
# The routes that keep connections of their own, hence can be cancelled into and frozen under.
KEEPING = ["pipelined", "kept", "health-checked", "cluster"]
# The routes that send a count's two commands one at a time ("cluster": to a node under suspicion).
SEQUENTIAL = ["single-connection", "cluster-unpipelined", "cluster"]


@dataclass
class Target:
    """A backend on one route, the servers its counts may reach, and what to close at the end."""

    route: str
    backend: RedisBackend
    servers: list[RedisServer]
    client: Redis | RedisCluster | None = None
    closed: bool = field(default=False)

    def key(self, name: str, suffix: str = "counter") -> str:
        """``<namespace>:{<name>}:<suffix>``: keys of one ``name`` share a cluster slot."""
        return KeyLayout(self.backend.namespace).state_key(name, suffix)

    async def owner(self, key: str) -> RedisServer:
        """The server that holds ``key``."""
        if len(self.servers) == 1:
            return self.servers[0]
        async with RedisCluster.from_url(self.servers[0].url) as probe:
            node = probe.get_node_from_key(key)
            assert node is not None
            return next(server for server in self.servers if server.port == node.port)

    async def close(self) -> None:
        for server in self.servers:
            if server.is_paused:
                server.resume()
        if not self.closed:
            self.closed = True
            await self.backend.clear()
            await self.backend.close()
            if self.client is not None:
                await self.client.aclose()


@pytest.fixture(params=ROUTES)
async def target(
    request: pytest.FixtureRequest, server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Target]:
    """A backend on the route named by the parameter: a route, or (route, socket_timeout)."""
    route, timeout = request.param if isinstance(request.param, tuple) else (request.param, PATIENT)
    built = await _build(route, request, server_factory, monkeypatch, timeout)
    try:
        yield built
    finally:
        await built.close()


async def _build(
    route: str,
    request: pytest.FixtureRequest,
    server_factory: ServerFactory,
    monkeypatch: pytest.MonkeyPatch,
    timeout: float,
) -> Target:
    options: dict[str, Any] = {"namespace": unique_namespace("counters"), "socket_timeout": timeout}
    if route in CLUSTERED:
        cluster: Cluster = request.getfixturevalue("redis_cluster")
        backend = RedisBackend(
            cluster.url, cluster=True, auto_pipeline=route == "cluster", max_connections=HITS, **options
        )
        return Target(route, backend, cluster.nodes)
    server = server_factory(RedisServer)
    client: Redis | None = None
    if route == "health-checked":  # not pipelined: redis-py's health check reads mid-stream
        client = Redis.from_url(server.url, health_check_interval=3600, max_connections=2 * HITS)
    elif route == "resp3":
        client = Redis.from_url(server.url, protocol=3)
    elif route == "single-connection":
        client = Redis.from_url(server.url, single_connection_client=True, socket_timeout=timeout)
    elif route == "public-path":  # a redis-py whose streams this code does not recognise
        monkeypatch.setattr(_connections, "_streams", lambda connection: None)
    if route == "kept":
        options["auto_pipeline"] = False
    backend = RedisBackend(client if client is not None else server.url, max_connections=HITS, **options)
    return Target(route, backend, [server], client)


def _command_calls(servers: Iterable[RedisServer]) -> Counter[str]:
    """Calls per command name (INFO commandstats) summed over ``servers``."""
    calls: Counter[str] = Counter()
    for server in servers:
        stats = redis_command(server.address, "INFO", "commandstats")
        assert isinstance(stats, str)
        for line in stats.splitlines():
            if line.startswith("cmdstat_"):
                name, _, fields = line[len("cmdstat_") :].partition(":")
                calls[name] += int(dict(item.split("=") for item in fields.split(","))["calls"])
    return calls


def _connections_received(servers: Iterable[RedisServer]) -> int:
    total = 0
    for server in servers:
        stats = redis_command(server.address, "INFO", "stats")
        assert isinstance(stats, str)
        total += int(next(line for line in stats.splitlines() if line.startswith("total_connections_received:"))[27:])
    return total


def test_a_count_and_a_give_back_pack_the_commands_redis_py_would_send() -> None:
    packer = Connection()  # only its packer is used: no socket is opened
    set_nx = b"".join(packer.pack_command("SET", "n:{k}:c", 0, "PX", 60_000, "NX"))
    assert pack_count(b"n:{k}:c", 7, 60_000) == set_nx + b"".join(packer.pack_command("INCRBY", "n:{k}:c", 7))
    assert pack_uncount(b"n:{k}:c", 7, 60_000) == set_nx + b"".join(packer.pack_command("DECRBY", "n:{k}:c", 7))


async def test_concurrent_counts_on_one_key_are_each_counted_once(target: Target) -> None:
    key = target.key("one")
    counts = await asyncio.gather(*(target.backend._count(key, 1, HOUR_MS) for _ in range(200)))
    assert sorted(counts) == list(range(1, 201))
    ttl = await target.backend._client_here().pttl(key)
    assert 0 < ttl <= HOUR_MS


async def test_a_count_is_set_nx_then_incrby_in_one_write(target: Target) -> None:
    backend, key = target.backend, target.key("pair")
    # As many connections open as the counts below need: only counts from here on.
    await asyncio.gather(*(backend._count(key, 1, HOUR_MS) for _ in range(40)))
    before = _command_calls(target.servers)
    with recorded_writes() as writes:
        counts = await asyncio.gather(*(backend._count(key, 2, HOUR_MS) for _ in range(40)))
    after = _command_calls(target.servers)
    assert sorted(counts) == list(range(42, 121, 2))
    calls = after - before
    for name in ("info", *CONNECTING):  # the stats themselves; a connection opened meanwhile
        calls.pop(name, None)
    assert calls == Counter({"set": 40, "incrby": 40})  # exactly two commands per count
    if target.route in ("cluster-unpipelined", "single-connection"):  # a command at a time (see _counters)
        return
    set_nx = [b"SET", key.encode(), b"0", b"PX", str(HOUR_MS).encode(), b"NX"]
    for data in writes:
        commands = redis_commands(data)
        for position, command in enumerate(commands):
            if command[0] == b"INCRBY":  # its SET NX goes before it in the same write
                assert position > 0
                assert commands[position - 1] == set_nx
            elif command[0] == b"SET":
                assert commands[position + 1] == [b"INCRBY", key.encode(), b"2"]


async def test_an_error_reply_reaches_its_caller_and_the_connection_stays_in_step(target: Target) -> None:
    backend = target.backend
    client = backend._client_here()
    good, listed, text = target.key("good"), target.key("listed"), target.key("text")
    await client.rpush(listed, "x")
    await client.set(text, "abc")
    # As many connections as the counts below need, to the same nodes: from here on, none is opened.
    warm = [target.key("good" if i % 4 else "listed", f"warm-{i}") for i in range(HITS)]
    await asyncio.gather(*(backend._count(key, 1, HOUR_MS) for key in warm))
    connected = _connections_received(target.servers)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await backend._count(listed, 1, HOUR_MS)
    with pytest.raises(ResponseError, match="not an integer"):
        await backend._count(text, 1, HOUR_MS)
    # Interleaved with failing ones, the good counts still get their own replies.
    calls = [backend._count(good, 1, HOUR_MS) if i % 4 else backend._count(listed, 1, HOUR_MS) for i in range(HITS)]
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(outcome, ResponseError) for outcome in outcomes[::4])
    counted = [outcome for i, outcome in enumerate(outcomes) if i % 4]
    assert sorted(count for count in counted if isinstance(count, int)) == list(range(1, HITS - HITS // 4 + 1))
    assert await backend._read_count(target.key("missing")) is None  # a nil reply is not a timeout
    await backend._uncount(good, 5, HOUR_MS)
    assert int(await backend._read_count(good) or -1) == HITS - HITS // 4 - 5
    # No connection was dropped for an error reply (each look at the stats opens one per server).
    assert _connections_received(target.servers) == connected + len(target.servers)


def _check_round(replies: dict[int, int], failures: list[str]) -> None:
    """Hit ``i`` cost ``2**i``: its count has its own bit, and adds to the count before it only unanswered hits."""
    answered = sum(1 << i for i in replies)
    previous = 0
    for index, count in sorted(replies.items(), key=lambda item: item[1]):
        if not count >> index & 1:
            failures.append(f"hit {index} got {count:#x}, which does not count it")
        elif count & previous != previous:
            failures.append(f"hit {index} got {count:#x}, which misses hits counted before {previous:#x}")
        elif (count & ~previous) & answered != 1 << index:
            failures.append(f"hit {index} got {count:#x}: another answered hit's count")
        previous = count


async def _round(backend: RedisBackend, key: str, chaos: random.Random, failures: list[str]) -> None:
    hits = [asyncio.ensure_future(backend._count(key, 1 << i, HOUR_MS)) for i in range(HITS)]
    for hit in hits:
        if chaos.random() < 0.3:
            for _ in range(chaos.randrange(3)):
                await asyncio.sleep(0)  # before or after its commands were written
            hit.cancel()
    outcomes = await asyncio.gather(*hits, return_exceptions=True)
    # A count that failed (a timeout on a loaded machine) may have run: unanswered, like a cancelled one.
    assert all(isinstance(outcome, (int, asyncio.CancelledError, RedisError)) for outcome in outcomes), outcomes
    replies = {i: outcome for i, outcome in enumerate(outcomes) if isinstance(outcome, int)}
    assert replies  # a round where nothing was answered would check nothing
    _check_round(replies, failures)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("target", KEEPING, indirect=True)
async def test_cancellations_never_hand_a_caller_another_s_count(target: Target, seed: int) -> None:
    chaos = random.Random(seed)
    failures: list[str] = []
    backend = target.backend
    for round_number in range(5):
        await _round(backend, target.key(f"round-{round_number}"), chaos, failures)
    assert not failures, failures
    # Every reply was read: the next count on a fresh key is 1 on every connection.
    assert await asyncio.gather(*(backend._count(target.key(f"after-{i}"), 1, HOUR_MS) for i in range(10))) == [1] * 10
    kept, nodes = backend._kept, backend._nodes
    if isinstance(kept, PipelinedConnections):
        assert kept.in_flight == 0
        assert kept.held <= DEFAULT_LANES
    await target.close()
    await asyncio.sleep(0)
    assert [task for task in asyncio.all_tasks() if task is not asyncio.current_task() and not task.done()] == []
    if target.route != "cluster":  # the cluster's nodes serve other tests' clients too
        assert _clients(target.servers[0]) == 1  # only the one asking: every socket was closed
    else:
        assert nodes is not None
        assert nodes.held == 0


def _clients(server: RedisServer) -> int:
    listing = redis_command(server.address, "CLIENT", "LIST")
    assert isinstance(listing, str)
    return len(listing.strip().splitlines())


@pytest.mark.parametrize("target", [(route, TIMEOUT) for route in KEEPING], ids=KEEPING, indirect=True)
async def test_a_silent_server_fails_every_waiting_count_with_a_timeout(target: Target) -> None:
    backend, key = target.backend, target.key("frozen")
    assert await backend._count(key, 1, HOUR_MS) == 1
    server = await target.owner(key)
    server.pause()
    try:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(backend._count(key, 1, HOUR_MS) for _ in range(40)), return_exceptions=True)
        elapsed = time.perf_counter() - started
    finally:
        server.resume()
    assert all(isinstance(outcome, RedisTimeoutError) for outcome in outcomes), outcomes
    # All at once, not one after another (40 timeouts in a row would take 40 * TIMEOUT, as
    # they did on the kept route with redis-py 6 and 7, whose pool connects one connection at
    # a time under a lock); the bound leaves a loaded machine room.
    assert elapsed < 16 * TIMEOUT
    # Those written ran once Redis woke up (never sent again); the next counts work.
    after = await backend._count(key, 1, HOUR_MS)
    assert 2 <= after <= 42
    assert await backend._count(key, 1, HOUR_MS) == after + 1
    assert 0 < await backend._client_here().pttl(key) <= HOUR_MS


async def test_a_pair_moves_to_an_open_lane_whole_or_not_at_all(redis_server: RedisServer) -> None:
    # A pool with room for one connection: a second lane finds it full, and hands its
    # queued pairs to the open lane. A pair whose caller was cancelled is not sent at all.
    pool = ConnectionPool.from_url(redis_server.url, max_connections=1)
    lanes = PipelinedConnections(pool, limit=2, hit_timeout=PATIENT, lanes=2)
    key = f"{unique_namespace('moved')}:{{k}}:counter"

    def pair(cost: int) -> asyncio.Future[Any]:
        return lanes.call_pair(pack_count(key.encode(), cost, HOUR_MS))

    try:
        assert await pair(1) == 1  # the first lane is connected
        before = _command_calls([redis_server])
        first = pair(2)  # written at once on the idle first lane
        cancelled = pair(4)  # a second lane opens for it ...
        third = pair(8)  # ... the least busy: the first lane
        fourth = pair(16)  # the second lane
        assert lanes.lanes == 2
        cancelled.cancel()
        assert sorted(await asyncio.gather(first, third, fourth)) == [3, 11, 27]
        calls = _command_calls([redis_server]) - before
        calls.pop("info", None)
        assert calls == Counter({"set": 3, "incrby": 3})
        assert lanes.lanes == 1
        assert lanes.in_flight == 0
        assert await pair(32) == 59  # the lane is in step
    finally:
        await lanes.release_all()
        async with Redis(connection_pool=pool) as client:
            assert 0 < await client.pttl(key) <= HOUR_MS
            await client.delete(key)


async def test_the_count_that_creates_a_key_sets_its_ttl_and_later_counts_leave_it(target: Target) -> None:
    backend, key = target.backend, target.key("ttl")
    client = backend._client_here()
    assert await backend._count(key, 1, HOUR_MS) == 1
    assert HOUR_MS - SLACK_MS < await client.pttl(key) <= HOUR_MS
    assert await backend._count(key, 2, 60_000) == 3  # its own TTL is not applied: the key has one
    assert HOUR_MS - SLACK_MS < await client.pttl(key) <= HOUR_MS


async def test_a_give_back_leaves_a_ttl_on_a_key_that_expired_and_keeps_a_live_key_s(target: Target) -> None:
    backend, gone, live = target.backend, target.key("gone"), target.key("live")
    client = backend._client_here()
    await backend._uncount(gone, 3, HOUR_MS)  # its key expired since its hit (no margin, at a window's end)
    assert int(await backend._read_count(gone) or 0) == -3  # a negative count: reset by the next hit
    assert 0 < await client.pttl(gone) <= HOUR_MS
    assert await backend._count(live, 5, HOUR_MS) == 5
    await backend._uncount(live, 2, 60_000)
    assert int(await backend._read_count(live) or 0) == 3
    assert HOUR_MS - SLACK_MS < await client.pttl(live) <= HOUR_MS


@pytest.mark.parametrize("operation", ["count", "give-back"])
@pytest.mark.parametrize("target", SEQUENTIAL, indirect=True)
async def test_a_failure_between_the_two_commands_leaves_no_key_without_a_ttl(
    target: Target, operation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sent one at a time, the pair can be cut between its commands (a connection lost then:
    # a fault no server makes on cue, so the client's second command is made to fail).
    backend, key = target.backend, target.key(f"cut-{operation}")
    client = backend._client_here()
    if target.route == "cluster":  # pipelined, but a node under suspicion gets its commands one at a time
        assert await backend._count(target.key("warm", "other"), 1, HOUR_MS) == 1
        assert isinstance(client, RedisCluster)
        node = client.get_node_from_key(key)
        assert node is not None
        assert backend._nodes is not None
        backend._nodes._suspect.add(node.name)
    execute = client.execute_command
    sent: list[Any] = []

    async def second_fails(*args: Any, **options: Any) -> Any:
        sent.append(args[0])
        if len(sent) == 2:
            raise RedisConnectionError("connection lost between the two commands")
        return await execute(*args, **options)

    cut = backend._count(key, 1, HOUR_MS) if operation == "count" else backend._uncount(key, 1, HOUR_MS)
    with monkeypatch.context() as patch:
        patch.setattr(client, "execute_command", second_fails)
        with pytest.raises(RedisConnectionError, match="between the two commands"):
            await cut
    assert len(sent) == 2
    assert 0 < await client.pttl(key) <= HOUR_MS  # the first command ran: a key, with its TTL
