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
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._connections import KeptConnections
from traffik.exceptions import BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer, ServerFactory

from tests.redis.conftest import BackendFactory, unique_namespace

pytestmark = pytest.mark.redis

LIMIT = Rate.parse("100/min")


def _kept(backend: RedisBackend) -> KeptConnections:
    kept = backend._kept
    assert kept is not None
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
    backend = RedisBackend(server.url, namespace="cancel", max_connections=1)
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


async def test_waiting_for_a_busy_connection_is_bounded_by_socket_timeout(server_factory: ServerFactory) -> None:
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
        # The one holding the connection times out reading; the others time out waiting for it.
        assert any("busy" in str(outcome) for outcome in outcomes)
        assert elapsed < 1.0
        server.resume()
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()


async def test_close_hands_kept_connections_back_to_an_application_client(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    pool = client.connection_pool
    backend = RedisBackend(client, namespace=unique_namespace())
    try:
        await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), LIMIT) for i in range(10)))
        assert len(pool._in_use_connections) == _kept(backend).held > 1
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


async def test_a_connection_the_server_closed_while_idle_is_replaced_before_the_next_hit(
    server_factory: ServerFactory,
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
    backend = RedisBackend(f"unix://{socket_path}", namespace="unix")
    try:
        decisions = [await backend.hit("k", FixedWindow(), Rate.parse("2/min")) for _ in range(3)]
        assert [decision.allowed for decision in decisions] == [True, True, False]
        assert _kept(backend).held == 1  # the hits went out on a kept unix-socket connection
    finally:
        await backend.clear()
        await backend.close()
