"""What a backend's lifespan logs: reachability at start-up, and a shared namespace it will clear.

A shared store (Redis, Memcached) with ``persistent=False`` wipes, at one
worker's shutdown, the namespace every worker counts in: the start-up warns
about it, naming the namespace, and the clear itself is logged. A persistent
backend, or the in-memory one (whose data dies with the process anyway),
warns about nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import pytest
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.testing import MemcachedServer, RedisServer, free_port

Build = Callable[[str, bool], ThrottleBackend]


@pytest.fixture
def build(request: pytest.FixtureRequest) -> Build:
    kind = request.param
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        return lambda namespace, persistent: RedisBackend(redis.url, namespace=namespace, persistent=persistent)
    if kind == "memcached":
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        addresses = [server.address for server in servers]
        return lambda namespace, persistent: MemcachedBackend(addresses, namespace=namespace, persistent=persistent)
    return lambda namespace, persistent: InMemoryBackend(namespace, persistent=persistent)


SHARED = [
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize("build", SHARED, indirect=True)
async def test_a_non_persistent_shared_backend_warns_at_start_up_and_logs_the_clear(
    build: Build, caplog: pytest.LogCaptureFixture
) -> None:
    namespace = f"startup-{uuid.uuid4().hex[:8]}"
    backend = build(namespace, False)
    caplog.set_level(logging.INFO, logger="traffik")

    async with backend.lifespan():
        started = warnings_of(caplog)
        assert len(started) == 1
        assert f"namespace {namespace!r} when this app shuts down" in started[0]
        assert "persistent=True" in started[0]
        caplog.clear()

    (cleared,) = warnings_of(caplog)
    assert cleared == f"{type(backend).__name__}: cleared namespace {namespace!r} at shutdown (persistent=False)"


@pytest.mark.parametrize(
    "build", [*SHARED, pytest.param("inmemory", marks=pytest.mark.inmemory, id="inmemory")], indirect=True
)
async def test_a_persistent_backend_warns_about_nothing(build: Build, caplog: pytest.LogCaptureFixture) -> None:
    backend = build(f"startup-{uuid.uuid4().hex[:8]}", True)
    caplog.set_level(logging.INFO, logger="traffik")
    async with backend.lifespan():
        pass
    assert warnings_of(caplog) == []
    await backend.clear()
    await backend.close()


@pytest.mark.inmemory
async def test_the_in_memory_backend_clears_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="traffik")
    async with InMemoryBackend("local").lifespan():
        pass
    assert warnings_of(caplog) == []
    assert "InMemoryBackend: cleared namespace 'local' at shutdown (persistent=False)" in caplog.messages


@pytest.mark.parametrize("build", SHARED, indirect=True)
async def test_start_up_says_the_store_is_reachable(build: Build, caplog: pytest.LogCaptureFixture) -> None:
    namespace = f"startup-{uuid.uuid4().hex[:8]}"
    backend = build(namespace, True)
    caplog.set_level(logging.INFO, logger="traffik")
    async with backend.lifespan():
        pass
    reachable = [message for message in caplog.messages if message.endswith("is reachable")]
    assert len(reachable) == 1
    assert f"(namespace={namespace!r})" in reachable[0]
    await backend.clear()
    await backend.close()


@pytest.mark.redis
async def test_start_up_warns_when_redis_is_unreachable_and_startup_may_go_on(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    backend = RedisBackend(url, namespace="down", persistent=True, require_startup_connection=False)
    caplog.set_level(logging.INFO, logger="traffik")
    async with backend.lifespan():
        pass
    (warning,) = warnings_of(caplog)
    assert "starting anyway" in warning
    assert not any(message.endswith("is reachable") for message in caplog.messages)


@pytest.mark.memcached
async def test_start_up_warns_when_memcached_is_unreachable(caplog: pytest.LogCaptureFixture) -> None:
    backend = MemcachedBackend([("127.0.0.1", free_port())], namespace="down", persistent=True, timeout=0.5)
    caplog.set_level(logging.INFO, logger="traffik")
    async with backend.lifespan():
        pass
    (warning,) = warnings_of(caplog)
    assert "cannot read the namespace generation at start-up" in warning
    assert "hits follow on_error" in warning
