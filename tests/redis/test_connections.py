"""The connections RedisBackend keeps for hits: bounded, queued, never out of step, handed back at close."""

from __future__ import annotations

import asyncio
import inspect
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import DEFAULT_CALL_TIMEOUT
from traffik.backends.redis import RedisBackend, _connections
from traffik.backends.redis._connections import KeptConnections
from traffik.backends.redis._pipelining import PipelinedConnections
from traffik.clock import ManualClock
from traffik.exceptions import BackendConnectionError, BackendTimeoutError, ConfigurationError, ConnectionThrottled
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer, ServerFactory

from tests.redis.conftest import BackendFactory, unique_namespace
from tests.redis.topologies import redis_command

pytestmark = pytest.mark.redis

LIMIT = Rate.parse("100/min")


def _kept(backend: RedisBackend) -> KeptConnections | PipelinedConnections:
    kept = backend._kept
    assert kept is not None
    return kept


def _one_per_hit(backend: RedisBackend) -> KeptConnections:
    """The connections of a backend that gives each hit in flight a connection (``auto_pipeline=False``)."""
    kept = backend._kept
    assert isinstance(kept, KeptConnections)
    return kept


async def test_more_concurrent_hits_than_connections_all_get_an_exact_answer(make_backend: BackendFactory) -> None:
    backend = make_backend(max_connections=4)
    decisions = await asyncio.gather(*(backend.hit("shared", FixedWindow(), LIMIT) for _ in range(300)))
    assert sum(decision.allowed for decision in decisions) == 100
    assert _kept(backend).held <= 4


async def test_the_default_handles_more_concurrent_hits_than_a_default_pool_allows(
    make_backend: BackendFactory,
) -> None:
    # redis-py's default pool refuses a 101st connection ("Too many connections").
    backend = make_backend()
    decisions = await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), LIMIT) for i in range(400)))
    assert all(decision.allowed for decision in decisions)
    assert _kept(backend).held <= backend.max_connections == 50


async def test_hits_take_at_most_half_an_application_pool_and_queue_for_it(redis_server: RedisServer) -> None:
    client = Redis(connection_pool=ConnectionPool.from_url(redis_server.url, max_connections=2))
    backend = RedisBackend(client, namespace=unique_namespace())
    try:
        decisions = await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), LIMIT) for i in range(40)))
        assert all(decision.allowed for decision in decisions)
        assert _kept(backend).held == 1  # half the application's pool, the other half stays free for it
        assert await client.ping()
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose(close_connection_pool=True)


async def test_a_cancelled_hit_never_leaves_its_reply_for_the_next_one(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    # A frozen clock: the two hits on "fresh" cannot straddle a minute edge.
    backend = RedisBackend(server.url, namespace="cancel", max_connections=1, clock=ManualClock(1_700_000_010_000.0))
    one_per_minute = Rate.parse("1/min")
    try:
        assert (await backend.hit("spent", FixedWindow(), one_per_minute)).allowed
        server.pause()
        # Sent but unanswered: its reply ("0 ...": denied) arrives only after the cancellation.
        stale = asyncio.create_task(backend.hit("spent", FixedWindow(), one_per_minute))
        await asyncio.sleep(0.05)
        stale.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stale
        server.resume()
        # Same single connection: had the stale reply stayed on it, this fresh key would read "denied".
        assert (await backend.hit("fresh", FixedWindow(), one_per_minute)).allowed
        assert not (await backend.hit("fresh", FixedWindow(), one_per_minute)).allowed
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()


async def test_hits_waiting_behind_a_hung_server_fail_with_the_first_timeout(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    backend = RedisBackend(server.url, namespace="busy", max_connections=1, socket_timeout=0.3)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.pause()
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(backend.hit("k", FixedWindow(), LIMIT) for _ in range(5)), return_exceptions=True
        )
        elapsed = time.perf_counter() - started
        assert all(isinstance(outcome, BackendTimeoutError) for outcome in outcomes), outcomes
        # The one holding the connection times out reading with no reply since it began: the
        # others, waiting for that connection, fail with it instead of each timing out in turn.
        assert sum("waited" in str(outcome) for outcome in outcomes) == 4
        assert elapsed < 0.3 * 2
        server.resume()
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()


async def test_close_hands_kept_connections_back_to_an_application_client(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    pool = client.connection_pool
    backend = RedisBackend(client, namespace=unique_namespace(), auto_pipeline=False)
    try:
        await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), LIMIT) for i in range(10)))
        assert len(pool._in_use_connections) == _one_per_hit(backend).held > 1
        await backend.close()
        assert len(pool._in_use_connections) == 0
        assert await client.ping()  # the application's client is still open
        assert (await backend.hit("again", FixedWindow(), LIMIT)).allowed  # and the backend still works
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose()


class _LegacyPool(ConnectionPool):
    """A real pool with the ``get_connection(command_name, ...)`` signature of redis-py before 5.3."""

    requested: list[str]

    async def get_connection(  # type: ignore[override]
        self, command_name: str, *keys: Any, **options: Any
    ) -> AbstractConnection:
        self.requested.append(command_name)
        # The installed redis-py may itself be one that wants the name (before 5.3) or warns about it.
        wants_name = inspect.signature(ConnectionPool.get_connection).parameters["command_name"].default
        args = (command_name,) if wants_name is inspect.Parameter.empty else ()
        connection: AbstractConnection = await super().get_connection(*args)  # type: ignore[no-untyped-call]
        return connection


async def test_pools_that_want_a_command_name_are_given_one(redis_server: RedisServer) -> None:
    pool = _LegacyPool.from_url(redis_server.url)
    pool.requested = []
    client = Redis(connection_pool=pool)
    namespace = unique_namespace()
    backend = RedisBackend(client, namespace=namespace)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        assert pool.requested == ["EVALSHA"]
    finally:
        await backend.close()
        await client.aclose(close_connection_pool=True)
        # redis-py's own commands would call get_connection() without a name on this pool.
        cleaner = RedisBackend(redis_server.url, namespace=namespace)
        await cleaner.clear()
        await cleaner.close()


async def test_a_single_connection_client_keeps_no_connections(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, single_connection_client=True)
    backend = RedisBackend(client, namespace=unique_namespace())
    try:
        assert backend._kept is None  # its one connection is the client's, guarded by its own lock
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
    finally:
        await backend.clear()
        await client.aclose()


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "8", None])
def test_max_connections_must_be_a_positive_whole_number(value: Any) -> None:
    with pytest.raises(ConfigurationError, match=rf"max_connections must be .*got {value!r}"):
        RedisBackend("redis://localhost:6379/0", max_connections=value)


@pytest.fixture(params=["fast-path", "public-path"])
def check_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which way a kept connection is checked: its streams read directly, or redis-py's public API only.

    ``public-path`` is what a redis-py that renamed the streams' attributes gets.
    """
    if request.param == "public-path":
        monkeypatch.setattr(_connections, "_streams", lambda connection: None)
    return str(request.param)


async def test_the_fast_path_recognises_this_redis_py_s_connections(redis_server: RedisServer) -> None:
    # If redis-py renames what _streams reads, hits stay correct (public path) but slower:
    # this fails so that the fast path is brought up to date rather than silently lost.
    backend = RedisBackend(redis_server.url, namespace=unique_namespace(), auto_pipeline=False)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        (connection,) = _one_per_hit(backend)._idle
        streams = _connections._streams(connection)
        assert streams is not None
        assert _connections._open(streams)
    finally:
        await backend.clear()
        await backend.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_the_next_hit(
    server_factory: ServerFactory, check_path: str
) -> None:
    server = server_factory(RedisServer)  # private: every client of it is killed below
    backend = RedisBackend(server.url, namespace="idle", max_connections=1)
    admin = Redis.from_url(server.url)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        # The server drops its clients (a proxy restart, `timeout` in redis.conf, CLIENT KILL).
        assert await admin.client_kill_filter(_type="normal", skipme=True) == 1
        await asyncio.sleep(0.05)  # the event loop sees the closed socket
        decision = await backend.hit("k", FixedWindow(), LIMIT)
        assert decision.allowed
        assert decision.hits_remaining == 98  # counted once more, on a fresh connection
    finally:
        await admin.aclose()
        await backend.close()


async def test_a_unix_socket_url_serves_hits(server_factory: ServerFactory, tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"
    server_factory(lambda: RedisServer(extra_args=("--unixsocket", str(socket_path), "--unixsocketperm", "700")))
    backend = RedisBackend(f"unix://{socket_path}", namespace="unix", clock=ManualClock(1_700_000_010_000.0))
    try:
        decisions = [await backend.hit("k", FixedWindow(), Rate.parse("2/min")) for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, False]
        assert _kept(backend).held == 1  # the hits went out on a kept unix-socket connection
    finally:
        await backend.clear()
        await backend.close()


async def test_a_health_check_interval_is_honoured(redis_server: RedisServer, check_path: str) -> None:
    # A kept connection sends as redis-py would, pinging first once the interval has passed.
    client = Redis.from_url(redis_server.url, health_check_interval=3600)
    backend = RedisBackend(client, namespace=unique_namespace())
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        pings = await _command_calls(client, "ping")
        (connection,) = _one_per_hit(backend)._idle
        connection.next_health_check = 0  # the interval has passed (without waiting an hour)
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        assert await _command_calls(client, "ping") > pings
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose()


async def _command_calls(client: Redis, name: str) -> int:
    stats = await client.info("commandstats")
    entry = stats.get(f"cmdstat_{name}", {"calls": 0})
    return int(entry["calls"])


async def test_hits_wait_for_their_own_connections_when_the_application_fills_a_shared_pool(
    redis_server: RedisServer,
) -> None:
    # redis-py before 7.2 says "Too many connections" with a plain ConnectionError, later ones with
    # MaxConnectionsError: either way a hit waits for one of the backend's connections.
    pool = ConnectionPool.from_url(redis_server.url, max_connections=4)
    client = Redis(connection_pool=pool)
    backend = RedisBackend(client, namespace=unique_namespace())  # keeps up to 2 of the 4
    holders = [Redis(connection_pool=pool, single_connection_client=True) for _ in range(3)]
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        for holder in holders:  # the application takes every other connection of the pool
            assert await holder.ping()
        decisions = await asyncio.gather(*(backend.hit("k", FixedWindow(), LIMIT) for _ in range(20)))
        assert sum(decision.allowed for decision in decisions) == 20
        assert _kept(backend).held == 1
    finally:
        for holder in holders:
            await holder.aclose()
        await backend.clear()
        await backend.close()
        await client.aclose(close_connection_pool=True)


@pytest.mark.parametrize("when", ["connected", "connecting"])
async def test_socket_timeout_bounds_hits_on_a_client_without_timeouts(
    server_factory: ServerFactory, when: str
) -> None:
    server = server_factory(RedisServer)
    client = Redis.from_url(server.url)  # redis-py's defaults: no timeout at all
    backend = RedisBackend(client, namespace="bounded", socket_timeout=0.3)
    try:
        if when == "connected":
            assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.pause()
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError):
            await backend.hit("k", FixedWindow(), LIMIT)
        assert time.perf_counter() - started < 1.0
        server.resume()
        # The interrupted connection was dropped, not left out of step.
        decision = await backend.hit("k", FixedWindow(), LIMIT)
        assert decision.allowed
    finally:
        if server.is_paused:
            server.resume()
        await backend.clear()
        await backend.close()
        await client.aclose()


async def test_a_client_s_own_tighter_timeout_wins(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    client = Redis.from_url(server.url, socket_timeout=0.2, socket_connect_timeout=0.2)
    backend = RedisBackend(client, namespace="tighter", socket_timeout=30.0)
    try:
        assert _kept(backend).hit_timeout is None  # the client's own timeouts bound every step already
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.pause()
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError):
            await backend.hit("k", FixedWindow(), LIMIT)
        assert time.perf_counter() - started < 1.0
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()
        await client.aclose()


async def test_a_read_only_replica_drops_every_kept_connection(server_factory: ServerFactory) -> None:
    # What a failover behind a DNS name or proxy looks like: the same address, now a replica.
    primary = server_factory(RedisServer)
    replica = server_factory(lambda: RedisServer(extra_args=("--replicaof", primary.host, str(primary.port))))
    backend = RedisBackend(replica.url, namespace="replica", auto_pipeline=False)
    try:
        with pytest.raises(BackendConnectionError, match="read-only replica"):
            await backend.hit("k", FixedWindow(), LIMIT)
        assert not any(connection.is_connected for connection in _one_per_hit(backend)._idle)
        assert redis_command(replica.address, "REPLICAOF", "NO", "ONE") == "OK"  # promoted: the next hit counts
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
    finally:
        await backend.close()


HITS_AT_ONCE = 10_000
ARRIVALS_PER_TURN = 250
PAUSE = DEFAULT_CALL_TIMEOUT + 0.5
"""How long Redis stays frozen under the burst: longer than any bound that used to end a wait."""


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["allow", "throttle"])
async def test_contention_for_kept_connections_is_not_a_backend_failure(
    server_factory: ServerFactory, policy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 10,000 hits in flight on 50 connections while Redis is frozen for PAUSE seconds: the
    # queued hits wait far longer than the default socket_timeout (0.5 s) and than the 1.5 s
    # the throttle used to put around a hit. Waiting is not an outage, so on_error decides
    # none of them: exactly the limit passes, and with "throttle" no hit within the limit is
    # refused. The read timeout itself is set beyond the pause plus any loaded machine's lag:
    # this test is about waiting, not about timeouts.
    server = server_factory(RedisServer)
    backend = RedisBackend(
        server.url,
        namespace=unique_namespace(),
        on_error=policy,  # type: ignore[arg-type]
        socket_timeout=PAUSE + 3.0,
        connect_timeout=PAUSE + 3.0,
        auto_pipeline=False,  # kept connections, one hit each: tests/redis/test_pipelining.py has its own
    )
    throttle = HTTPThrottle("contention", rate="50/day", backend=backend, registry=ThrottleRegistry())
    waits: list[float] = []
    acquire = KeptConnections._acquire

    async def timed_acquire(kept: KeptConnections) -> AbstractConnection:
        started = time.perf_counter()
        try:
            return await acquire(kept)
        finally:
            waits.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(backend.hit(f"warm-{i}", FixedWindow(), LIMIT) for i in range(200)))
        assert _one_per_hit(backend).held == 50
        monkeypatch.setattr(KeptConnections, "_acquire", timed_acquire)  # a hit waits for a connection in it
        server.pause()
        asyncio.get_running_loop().call_later(PAUSE, server.resume)
        # Requests arrive over many event-loop turns, as from real sockets.
        outcomes: list[asyncio.Task[str]] = []
        for _ in range(HITS_AT_ONCE // ARRIVALS_PER_TURN):
            outcomes += [asyncio.create_task(_outcome(throttle)) for _ in range(ARRIVALS_PER_TURN)]
            await asyncio.sleep(0)
        results = await asyncio.gather(*outcomes)
        assert results.count("admitted") == 50
        assert results.count("throttled") == HITS_AT_ONCE - 50
        assert max(waits) > DEFAULT_CALL_TIMEOUT  # and still a real decision
    finally:
        if server.is_paused:
            server.resume()
        await backend.clear()
        await backend.close()


async def _outcome(throttle: HTTPThrottle) -> str:
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.1", 1)})
    try:
        await throttle.hit(request)
    except ConnectionThrottled:
        return "throttled"
    return "admitted"
