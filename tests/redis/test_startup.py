"""The start-up check: initialize() pings Redis and loads the scripts; bad settings fail there, clearly."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._scripts import LuaScript
from traffik.exceptions import BackendConnectionError, BackendTimeoutError, ConfigurationError
from traffik.plugins import get_plugin_registry
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer, ServerFactory, free_port
from traffik.throttles import HTTPThrottle

from tests.redis.conftest import Cluster, unique_namespace

pytestmark = pytest.mark.redis

PASSWORD = "right-horse-battery"
WRONG = "wrong-staple-9"


def _shas() -> list[str]:
    registry = get_plugin_registry()
    found = (registry.strategy_implementation("redis", name) for name in registry.strategies())
    return [script.sha for script in found if isinstance(script, LuaScript)]


class SecuredRedisServer(RedisServer):
    """A ``redis-server`` with ``requirepass``: the readiness probe authenticates first."""

    def __init__(self) -> None:
        super().__init__(extra_args=("--requirepass", PASSWORD))

    def probe(self, sock: socket.socket) -> bool:
        sock.sendall(f"AUTH {PASSWORD}\r\nPING\r\n".encode())
        data = b""
        while data.count(b"\r\n") < 2:
            chunk = sock.recv(256)
            if not chunk:
                return False
            data += chunk
        return data.endswith(b"+PONG\r\n")


@pytest.fixture
def secured(server_factory: ServerFactory) -> RedisServer:
    return server_factory(SecuredRedisServer)


@pytest.fixture
def dead_port() -> int:
    return free_port()


async def test_initialize_loads_every_strategy_script(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    backend = RedisBackend(server.url, namespace=unique_namespace("startup"))
    raw = Redis.from_url(server.url)
    try:
        assert not any(await raw.script_exists(*_shas()))
        await backend.initialize()
        assert all(await raw.script_exists(*_shas()))
        assert len(_shas()) >= 7  # every built-in strategy but FixedWindow (a counter, no script)
    finally:
        await raw.aclose()
        await backend.close()


async def test_initialize_loads_the_scripts_on_every_cluster_primary(redis_cluster: Cluster) -> None:
    for node in redis_cluster.nodes:
        async with Redis.from_url(node.url) as raw:
            await raw.script_flush()
    backend = RedisBackend(redis_cluster.url, namespace=unique_namespace("startup"), cluster=True)
    try:
        await backend.initialize()
        for node in redis_cluster.nodes:
            async with Redis.from_url(node.url) as raw:
                assert all(await raw.script_exists(*_shas())), node.url
    finally:
        await backend.close()


@pytest.mark.parametrize("credentials", [f":{WRONG}@", f"default:{WRONG}@", ""], ids=["wrong", "wrong-user", "none"])
async def test_wrong_credentials_fail_at_start_up_naming_the_host_not_the_password(
    secured: RedisServer, credentials: str
) -> None:
    url = f"redis://{credentials}{secured.host}:{secured.port}/0"
    # Rejected credentials are a configuration error: tolerating a dead server does not hide them.
    backend = RedisBackend(url, namespace=unique_namespace("startup"), require_startup_connection=False)
    try:
        with pytest.raises(ConfigurationError, match="rejected the credentials") as raised:
            await backend.initialize()
        assert f"{secured.host}:{secured.port}" in str(raised.value)
        assert WRONG not in str(raised.value)
        assert PASSWORD not in str(raised.value)
    finally:
        await backend.close()


async def test_the_right_password_passes_the_check(secured: RedisServer) -> None:
    backend = RedisBackend(f"redis://:{PASSWORD}@{secured.host}:{secured.port}/0", namespace=unique_namespace())
    try:
        await backend.initialize()
        assert (await backend.hit("k", FixedWindow(), Rate.parse("1/min"))).allowed
    finally:
        await backend.clear()
        await backend.close()


async def test_an_unreachable_server_fails_at_start_up_naming_the_host(dead_port: int) -> None:
    backend = RedisBackend(f"redis://:{WRONG}@127.0.0.1:{dead_port}/0", namespace=unique_namespace("startup"))
    started = time.perf_counter()
    with pytest.raises(BackendConnectionError, match=f"cannot reach Redis at 127.0.0.1:{dead_port} at start-up") as e:
        await backend.initialize()
    assert time.perf_counter() - started < 1.5
    assert WRONG not in str(e.value)
    await backend.close()


async def test_a_frozen_server_fails_at_start_up_within_the_timeout(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    server.pause()
    backend = RedisBackend(server.url, namespace=unique_namespace("startup"))
    try:
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError, match=f"{server.host}:{server.port}"):
            await backend.initialize()
        assert time.perf_counter() - started < 1.5
    finally:
        server.resume()
        await backend.close()


async def test_an_unreachable_cluster_fails_at_start_up(dead_port: int) -> None:
    backend = RedisBackend(f"redis+cluster://127.0.0.1:{dead_port}", namespace=unique_namespace("startup"))
    with pytest.raises(BackendConnectionError, match=f"127.0.0.1:{dead_port}"):
        await backend.initialize()
    await backend.close()


async def test_an_app_may_start_while_redis_is_down_then_recover(
    dead_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    server = RedisServer(port=dead_port)
    backend = RedisBackend(
        server.url, namespace=unique_namespace("startup"), require_startup_connection=False, persistent=True
    )
    try:
        with caplog.at_level(logging.WARNING, logger="traffik.backends.redis"):
            await backend.initialize()
        assert "require_startup_connection=False" in caplog.text
        assert f"127.0.0.1:{dead_port}" in caplog.text
        with pytest.raises(BackendConnectionError):
            await backend.hit("k", FixedWindow(), Rate.parse("1/min"))
        server.start()
        assert (await backend.hit("k", FixedWindow(), Rate.parse("1/min"))).allowed
    finally:
        await backend.close()
        server.stop()


def _app(backend: RedisBackend) -> FastAPI:
    throttle = HTTPThrottle("startup", rate="5/min", backend=backend)
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/", dependencies=[Depends(throttle)])
    async def root() -> dict[str, str]:
        return {"ok": "yes"}

    return app


def test_the_lifespan_fails_the_app_start_when_redis_is_down(dead_port: int) -> None:
    backend = RedisBackend(f"redis://127.0.0.1:{dead_port}/0", namespace=unique_namespace("startup"))
    with pytest.raises(BackendConnectionError, match=f"127.0.0.1:{dead_port}"), TestClient(_app(backend)):
        pass


def test_the_lifespan_starts_anyway_when_allowed_and_on_error_decides(dead_port: int) -> None:
    backend = RedisBackend(
        f"redis://127.0.0.1:{dead_port}/0",
        namespace=unique_namespace("startup"),
        require_startup_connection=False,
        persistent=True,  # nothing to clear at shutdown from a Redis that is down
        on_error="allow",
    )
    with TestClient(_app(backend)) as client:
        assert client.get("/").status_code == 200  # failed open, as on_error="allow" says
