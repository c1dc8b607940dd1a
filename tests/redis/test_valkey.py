"""valkey-py clients passed as ``url``: the same hits, errors and failure handling as redis-py clients.

valkey-py is a fork of redis-py with renamed modules and exception classes of
its own. These tests run a real redis-server (Valkey speaks the same protocol)
and, where a behaviour depends on telling errors apart, run it on both
libraries' clients side by side.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
import valkey
import valkey.asyncio
from redis.asyncio import ConnectionPool, Redis
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._connections import KeptConnections
from traffik.backends.redis._errors import backend_error
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._pipelining import PipelinedConnections
from traffik.clock import ManualClock
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog
from traffik.testing import RedisServer, ServerFactory
from valkey import exceptions as valkey_errors
from valkey.asyncio import Valkey, ValkeyCluster

from tests.redis.conftest import Cluster, unique_namespace
from tests.redis.strategies import DEFAULTS
from tests.redis.topologies import redis_command
from tests.wire import recorded_writes, redis_commands

pytestmark = pytest.mark.redis

LIMIT = Rate.parse("100/min")
LIBRARIES = ["redis-py", "valkey-py"]


def _client(library: str, url: str, **options: Any) -> Any:
    """A single-server asyncio client of ``library`` on ``url`` (no timeouts unless given)."""
    if library == "valkey-py":
        return Valkey.from_url(url, **options)
    return Redis.from_url(url, **options)


def _pooled(library: str, url: str, max_connections: int) -> Any:
    if library == "valkey-py":
        return Valkey(connection_pool=valkey.asyncio.ConnectionPool.from_url(url, max_connections=max_connections))
    return Redis(connection_pool=ConnectionPool.from_url(url, max_connections=max_connections))


def _kept(backend: RedisBackend) -> KeptConnections | PipelinedConnections:
    kept = backend._kept
    assert kept is not None
    return kept


def _one_per_hit(backend: RedisBackend) -> KeptConnections:
    """The connections of a backend that gives each hit in flight a connection (``auto_pipeline=False``)."""
    kept = backend._kept
    assert isinstance(kept, KeptConnections)
    return kept


# -- recognising a valkey-py client --------------------------------------------------------


def test_a_valkey_client_is_taken_as_a_redis_py_one_is(redis_server: RedisServer) -> None:
    client = Valkey.from_url(redis_server.url)
    backend = RedisBackend(client, namespace=unique_namespace("valkey"))
    assert not backend.cluster
    assert backend._kept is not None  # hits go on kept connections, as with a redis-py client
    assert backend.call_timeout is None  # each step of a hit is bounded by the backend itself


def test_a_synchronous_valkey_client_fails_at_construction() -> None:
    with pytest.raises(
        ConfigurationError, match=r"^RedisBackend: url must be a Redis URL .* got <valkey.client.Valkey"
    ):
        RedisBackend(valkey.Valkey())  # type: ignore[arg-type]  # the sync client: never usable


def test_without_valkey_py_nothing_imports_it(redis_server: RedisServer) -> None:
    # valkey-py blocked as if not installed: a hit, a clear and an error translation still work,
    # and a process that has valkey-py but never imported it does not import it either.
    script = textwrap.dedent(
        f"""
        import asyncio, sys
        if sys.argv[1] == "blocked":
            sys.modules["valkey"] = None
        from redis.exceptions import TimeoutError
        from traffik.backends.redis import RedisBackend
        from traffik.backends.redis._errors import backend_error
        from traffik.exceptions import BackendTimeoutError
        from traffik.rates import Rate
        from traffik.strategies import FixedWindow

        async def main():
            backend = RedisBackend({redis_server.url!r}, namespace="no-valkey")
            assert (await backend.hit("k", FixedWindow(), Rate.parse("1/min"))).allowed
            await backend.clear()
            await backend.close()
            assert isinstance(backend_error(TimeoutError("t"), "a hit"), BackendTimeoutError)
            try:
                RedisBackend(object())
            except Exception as exc:
                assert "url must be" in str(exc), exc

        asyncio.run(main())
        assert not [name for name in sys.modules if name.startswith("valkey") and sys.modules[name]]
        """
    )
    for mode in ("blocked", "installed"):
        done = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (mode, done.stderr)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(valkey_errors.TimeoutError("slow"), BackendTimeoutError, id="timeout"),
        pytest.param(valkey_errors.ConnectionError("refused"), BackendConnectionError, id="connection"),
        pytest.param(valkey_errors.ReadOnlyError("READONLY"), BackendConnectionError, id="read-only"),
        pytest.param(valkey_errors.SlotNotCoveredError("no node"), BackendConnectionError, id="cluster"),
        pytest.param(valkey_errors.ResponseError("ERR"), BackendError, id="response"),
    ],
)
def test_valkey_errors_become_backend_errors(error: Exception, expected: type[BackendError]) -> None:
    translated = backend_error(error, "a hit")
    assert type(translated) is expected
    assert str(error) in str(translated)


# -- hits ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_hits_on_a_valkey_client_decide_as_on_a_redis_py_one_in_one_round_trip(
    name: str, redis_server: RedisServer
) -> None:
    strategy, rate = DEFAULTS[name], Rate.parse("5/s")
    decisions: dict[str, list[tuple[Any, ...]]] = {}
    for library in LIBRARIES:
        client = _client(library, redis_server.url)
        clock = ManualClock(1_700_000_000_000.0)
        backend = RedisBackend(client, namespace=unique_namespace("valkey"), clock=clock)
        try:
            await backend.peek("warm-up", strategy, rate)  # connects a kept connection
            seen = decisions[library] = []
            with recorded_writes() as writes:
                for step in range(12):
                    clock.advance(70 * (step % 3))
                    decision = await backend.hit("k", strategy, rate, cost=1 + step % 2)
                    seen.append((decision.allowed, decision.wait_ms, decision.hits_remaining, decision.reset_ms))
            sent = [[command[0] for command in redis_commands(write)] for write in writes]
            if name == FixedWindow.NAME:  # a counter: a denied hit the window had room for gives its cost back
                hits = [commands for commands in sent if commands != [b"SET", b"DECRBY"]]
                assert hits == [[b"SET", b"INCRBY"]] * 12
            else:
                assert sent == [[b"EVALSHA"]] * 12  # one write, hence one round trip, per hit
        finally:
            await backend.clear()
            await backend.close()
            await client.aclose()
    assert decisions["valkey-py"] == decisions["redis-py"]
    assert {allowed for allowed, *_ in decisions["valkey-py"]} == {True, False}


async def test_a_valkey_client_reloads_a_script_the_server_forgot(redis_server: RedisServer) -> None:
    client = Valkey.from_url(redis_server.url)
    backend = RedisBackend(client, namespace=unique_namespace("valkey"))
    try:
        assert (await backend.hit("k", SlidingWindowLog(), LIMIT)).allowed
        await client.script_flush()
        with recorded_writes() as writes:
            assert (await backend.hit("k", SlidingWindowLog(), LIMIT)).hits_remaining == 98
        # NOSCRIPT (a valkey-py NoScriptError) is answered by EVAL, which caches the script again.
        assert [command[0] for write in writes for command in redis_commands(write)] == [b"EVALSHA", b"EVAL"]
    finally:
        await backend.clear()
        await backend.close()
        await client.aclose()


# -- failures: each library's own exceptions, told apart the same way ---------------------------


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_frozen_server_times_out_then_recovers(library: str, server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    client = _client(library, server.url)  # no timeout of its own: socket_timeout bounds the hit
    backend = RedisBackend(client, namespace="frozen", socket_timeout=0.3)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.pause()
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError):
            await backend.hit("k", FixedWindow(), LIMIT)
        assert time.perf_counter() - started < 1.0
        server.resume()
        assert (await backend.hit("k", FixedWindow(), LIMIT)).hits_remaining == 97
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()
        await client.aclose()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_hits_waiting_behind_a_hung_server_fail_with_the_first_timeout(
    library: str, server_factory: ServerFactory
) -> None:
    server = server_factory(RedisServer)
    client = _client(library, server.url)
    backend = RedisBackend(client, namespace="busy", max_connections=1, socket_timeout=0.3)
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.pause()
        started = time.perf_counter()
        outcomes = await asyncio.gather(
            *(backend.hit("k", FixedWindow(), LIMIT) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(outcome, BackendTimeoutError) for outcome in outcomes), outcomes
        assert sum("waited" in str(outcome) for outcome in outcomes) == 4  # failed with the first
        assert time.perf_counter() - started < 0.6
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()
        await client.aclose()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_dead_server_is_a_connection_error(library: str, server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    client = _client(library, server.url, socket_timeout=0.5, socket_connect_timeout=0.5)
    backend = RedisBackend(client, namespace="dead")
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        server.kill()
        with pytest.raises(BackendConnectionError):
            await backend.hit("k", FixedWindow(), LIMIT)
        with pytest.raises(BackendConnectionError):
            await backend.clear()
    finally:
        await backend.close()
        await client.aclose()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_primary_demoted_to_a_replica_drops_every_kept_connection(
    library: str, server_factory: ServerFactory
) -> None:
    # What a failover behind a DNS name or proxy looks like: the same address, now a replica.
    other = server_factory(RedisServer)
    node = server_factory(RedisServer)
    client = _client(library, node.url)
    backend = RedisBackend(client, namespace="replica", max_connections=3, auto_pipeline=False)
    try:
        await asyncio.gather(*(backend.hit(f"k{i}", FixedWindow(), LIMIT) for i in range(12)))
        assert len(_one_per_hit(backend)._idle) == 3
        assert redis_command(node.address, "REPLICAOF", other.host, str(other.port)) == "OK"
        with pytest.raises(BackendConnectionError, match="read-only replica"):
            await backend.hit("k", FixedWindow(), LIMIT)
        # READONLY (a valkey-py ReadOnlyError on a valkey-py client): every idle one is dropped too.
        idle = _one_per_hit(backend)._idle
        assert len(idle) == 3
        assert not any(connection.is_connected for connection in idle)
        assert redis_command(node.address, "REPLICAOF", "NO", "ONE") == "OK"  # promoted: the next hit counts
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
    finally:
        await backend.close()
        await client.aclose()


@pytest.mark.parametrize("library", LIBRARIES)
async def test_hits_wait_for_their_own_connections_when_the_application_fills_a_shared_pool(
    library: str, redis_server: RedisServer
) -> None:
    # valkey-py's full pool says "Too many connections" with a plain ConnectionError.
    client = _pooled(library, redis_server.url, max_connections=4)
    backend = RedisBackend(client, namespace=unique_namespace("valkey"))  # keeps up to 2 of the 4
    holders = [type(client)(connection_pool=client.connection_pool, single_connection_client=True) for _ in range(3)]
    try:
        assert (await backend.hit("k", FixedWindow(), LIMIT)).allowed
        for holder in holders:
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


# -- Valkey Cluster client ------------------------------------------------------------------------


async def test_a_valkey_cluster_client_routes_hits_and_clears_every_primary(redis_cluster: Cluster) -> None:
    client = ValkeyCluster.from_url(redis_cluster.url)
    backend = RedisBackend(client, namespace=unique_namespace("valkey-cluster"), clock=ManualClock(1_700_000_010_000.0))
    assert backend.cluster
    assert backend._kept is None  # a cluster client routes each command itself
    pattern = KeyLayout(backend.namespace).scan_pattern
    try:
        await backend.initialize()  # SCRIPT LOAD on every primary
        for node in redis_cluster.nodes:  # then forgotten: each node's first hit gets NOSCRIPT
            assert redis_command(node.address, "SCRIPT", "FLUSH") == "OK"
        for index in range(12):
            outcomes = [(await backend.hit(f"k{index}", FixedWindow(), Rate.parse("2/min"))).allowed for _ in range(3)]
            assert outcomes == [True, True, False]
        counts = [len(await _node_keys(node, pattern)) for node in redis_cluster.nodes]
        assert sum(counts) == 12
        assert sum(1 for count in counts if count) >= 2
        await backend.clear()
        assert [len(await _node_keys(node, pattern)) for node in redis_cluster.nodes] == [0, 0, 0]
        await backend.close()
        assert await client.ping()  # the application's: never closed by the backend
    finally:
        await client.aclose()


async def _node_keys(node: RedisServer, pattern: str) -> list[Any]:
    client = Valkey.from_url(node.url)
    try:
        return list(await client.keys(pattern))
    finally:
        await client.aclose()
