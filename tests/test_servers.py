"""The real-server fixtures and :mod:`traffik.testing`'s process control."""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import uuid
from pathlib import Path

import aiomcache
import pytest
import redis.asyncio as aioredis
from traffik.testing import (
    MemcachedServer,
    RedisServer,
    ServerError,
    ServerFactory,
    ServerNotInstalledError,
    ServerOptionError,
    ServerProcess,
    _running,
    free_port,
)

pytestmark = [pytest.mark.redis, pytest.mark.memcached]

# One request per protocol whose answer proves the server is serving.
_PROBES: dict[type[ServerProcess], tuple[bytes, bytes]] = {
    RedisServer: (b"PING\r\n", b"+PONG\r\n"),
    MemcachedServer: (b"version\r\n", b"VERSION "),
}
_KINDS = [pytest.param(RedisServer, id="redis"), pytest.param(MemcachedServer, id="memcached")]


def _process_state(pid: int) -> str:
    """The one-letter state of ``pid`` from /proc (``T`` = stopped by a signal)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces: the state follows the last ")".
    return stat.rsplit(")", 1)[1].split()[0]


def _is_paused(server: ServerProcess) -> bool:
    # A call, so the type checker does not carry one answer over to the next assert.
    return server.is_paused


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _refuses_connections(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1.0):
            return False
    except ConnectionRefusedError:
        return True


async def _store(server: ServerProcess, key: str, value: bytes) -> None:
    if isinstance(server, RedisServer):
        client = aioredis.from_url(server.url)
        try:
            await client.set(key, value)
        finally:
            await client.aclose()
    else:
        mc = aiomcache.Client(server.host, server.port)
        try:
            await mc.set(key.encode(), value)
        finally:
            await mc.close()


async def _fetch(server: ServerProcess, key: str) -> bytes | None:
    if isinstance(server, RedisServer):
        client = aioredis.from_url(server.url)
        try:
            value = await client.get(key)
            assert value is None or isinstance(value, bytes)
            return value
        finally:
            await client.aclose()
    mc = aiomcache.Client(server.host, server.port)
    try:
        cached: bytes | None = await mc.get(key.encode())
        return cached
    finally:
        await mc.close()


# -- the session fixtures ----------------------------------------------------


async def test_redis_server_fixture_answers_ping(redis_server: RedisServer) -> None:
    assert redis_server.is_running
    assert redis_server.host == "127.0.0.1"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}"
    client = aioredis.from_url(redis_server.url)
    try:
        assert await client.ping() is True
    finally:
        await client.aclose()


async def test_memcached_servers_fixture_gives_two_independent_servers(
    memcached_servers: tuple[MemcachedServer, MemcachedServer],
) -> None:
    first, second = memcached_servers
    assert first.port != second.port
    assert first.pid != second.pid
    key = f"traffik-test-{uuid.uuid4().hex}"
    await _store(first, key, b"on-first")
    assert await _fetch(first, key) == b"on-first"
    # A separate process: what one stores, the other does not see.
    assert await _fetch(second, key) is None


# -- process control ---------------------------------------------------------


@pytest.mark.parametrize("kind", _KINDS)
def test_stop_ends_the_process_and_frees_the_port(server_factory: ServerFactory, kind: type[ServerProcess]) -> None:
    server = server_factory(kind)
    pid, address = server.pid, server.address
    assert _pid_exists(pid)
    server.stop()
    assert not server.is_running
    assert not _pid_exists(pid)
    assert _refuses_connections(address)
    server.stop()  # stopping twice is harmless


@pytest.mark.parametrize("kind", _KINDS)
async def test_pause_freezes_the_server_and_resume_answers_the_pending_request(
    server_factory: ServerFactory, kind: type[ServerProcess]
) -> None:
    server = server_factory(kind)
    request, answer = _PROBES[kind]
    reader, writer = await asyncio.open_connection(server.host, server.port)
    try:
        server.pause()
        assert _is_paused(server)
        assert _process_state(server.pid) == "T"
        writer.write(request)
        await writer.drain()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readline(), timeout=0.3)
        server.resume()
        assert not _is_paused(server)
        assert _process_state(server.pid) != "T"
        # The request sent while frozen is answered once the process runs again.
        assert (await asyncio.wait_for(reader.readline(), timeout=5.0)).startswith(answer)
    finally:
        writer.close()
        await writer.wait_closed()


@pytest.mark.parametrize("kind", _KINDS)
def test_stop_ends_a_paused_server(server_factory: ServerFactory, kind: type[ServerProcess]) -> None:
    server = server_factory(kind)
    pid = server.pid
    server.pause()
    server.stop()
    assert not _pid_exists(pid)


@pytest.mark.parametrize("kind", _KINDS)
async def test_kill_crashes_the_server_and_start_brings_it_back_empty_on_the_same_port(
    server_factory: ServerFactory, kind: type[ServerProcess]
) -> None:
    server = server_factory(kind)
    await _store(server, "survivor", b"1")
    pid, port = server.pid, server.port
    server.kill()
    assert not server.is_running
    assert not _pid_exists(pid)
    assert _refuses_connections(server.address)
    server.start()
    assert server.port == port
    assert server.pid != pid
    assert await _fetch(server, "survivor") is None


@pytest.mark.parametrize("kind", _KINDS)
async def test_restart_keeps_the_address_and_drops_the_data(
    server_factory: ServerFactory, kind: type[ServerProcess]
) -> None:
    server = server_factory(kind)
    await _store(server, "before-restart", b"1")
    pid, url = server.pid, server.url
    server.restart()
    assert server.url == url
    assert server.pid != pid
    assert not _pid_exists(pid)
    assert await _fetch(server, "before-restart") is None


@pytest.mark.parametrize("kind", _KINDS)
def test_signals_on_a_stopped_server_raise(kind: type[ServerProcess]) -> None:
    server = kind()
    with pytest.raises(ServerError, match="not running"):
        server.pause()
    with pytest.raises(ServerError, match="not running"):
        server.resume()
    with pytest.raises(ServerError, match="not running"):
        server.kill()
    with pytest.raises(ServerError, match="not running"):
        _ = server.pid
    with pytest.raises(ServerError, match=r"call start\(\) first"):
        _ = server.port


def test_a_given_port_is_used(server_factory: ServerFactory) -> None:
    port = free_port()
    server = server_factory(lambda: RedisServer(port))
    assert server.port == port
    assert server.address == ("127.0.0.1", port)


# -- configuration and missing executables -------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        pytest.param({"port": 0}, "port", id="port-zero"),
        pytest.param({"port": 65536}, "port", id="port-too-big"),
        pytest.param({"port": True}, "port", id="port-bool"),
        pytest.param({"host": "0.0.0.0"}, "host", id="host-not-loopback"),
        pytest.param({"startup_timeout": 0}, "startup_timeout", id="startup-timeout-zero"),
        pytest.param({"stop_timeout": -1.0}, "stop_timeout", id="stop-timeout-negative"),
        pytest.param({"startup_timeout": float("inf")}, "startup_timeout", id="startup-timeout-infinite"),
        pytest.param({"extra_args": "--x"}, "extra_args", id="extra-args-string"),
    ],
)
def test_invalid_configuration_names_the_parameter_and_value(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ServerOptionError) as info:
        RedisServer(**kwargs)  # type: ignore[arg-type]  # deliberately wrong values
    message = str(info.value)
    assert named in message
    assert repr(next(iter(kwargs.values()))) in message


def test_invalid_options_raise_the_packages_own_error() -> None:
    """traffik.testing raises its own errors, not the limiter's ``ConfigurationError``; a bad option is a ValueError."""
    assert issubclass(ServerOptionError, ServerError)
    assert issubclass(ServerOptionError, ValueError)
    with pytest.raises(ValueError, match="port"):
        RedisServer(port=-1)


def test_memcached_memory_must_be_positive() -> None:
    with pytest.raises(ServerOptionError, match=r"memory_mb .* got 0"):
        MemcachedServer(memory_mb=0)


@pytest.mark.parametrize(
    ("kind", "package"),
    [pytest.param(RedisServer, "redis-server", id="redis"), pytest.param(MemcachedServer, "memcached", id="memcached")],
)
def test_a_missing_executable_names_the_apt_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kind: type[ServerProcess], package: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ServerNotInstalledError, match=f"apt-get install -y {package}") as info:
        kind().start()
    assert info.value.apt_package == package
    # The package and executable, not a script of Traffik's own repository that users do not have.
    assert "scripts/" not in str(info.value)


def test_a_missing_explicit_executable_is_reported(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-redis-server")
    with pytest.raises(ServerNotInstalledError, match="no-such-redis-server"):
        RedisServer(executable=missing).start()


def test_fixture_fails_in_ci_when_the_executable_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server_factory: ServerFactory
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y redis-server"):
        server_factory(RedisServer)


def test_fixture_skips_locally_when_the_executable_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server_factory: ServerFactory
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y memcached"):
        server_factory(MemcachedServer)


def test_the_exit_hook_is_registered_once_when_a_server_starts(
    monkeypatch: pytest.MonkeyPatch, server_factory: ServerFactory
) -> None:
    """Leftover servers are stopped at exit, by a hook registered by the first start, not by an import."""
    registered: list[object] = []
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(_running, "_exit_hook_registered", False)
    RedisServer()  # building one registers nothing
    assert registered == []
    server_factory(RedisServer)
    server_factory(MemcachedServer)
    assert len(registered) == 1
