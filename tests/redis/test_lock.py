"""RedisBackend.lock: a lock in Redis honouring blocking, TTL and blocking timeout, with config fallbacks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from traffik import config
from traffik.backends.redis import RedisBackend, _lock
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._lock import DEFAULT_LOCK_BLOCKING_TIMEOUT, DEFAULT_LOCK_TTL
from traffik.exceptions import ConfigurationError, LockTimeoutError
from traffik.locks import AsyncLock
from traffik.testing import RedisServer, ServerFactory

from tests.redis.conftest import BackendFactory, unique_namespace

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    config.reset_config()
    yield
    config.reset_config()


async def test_the_lock_excludes_other_instances(make_backend: BackendFactory) -> None:
    first = make_backend()
    second = make_backend(namespace=first.namespace, lock_blocking=False)
    lock = first.lock("job")
    assert isinstance(lock, AsyncLock)
    async with lock:
        assert lock.locked()
        with pytest.raises(LockTimeoutError, match="blocking is off"):
            await second.lock("job").acquire()
    assert not lock.locked()
    other = second.lock("job")
    assert await other.acquire()
    await other.release()


async def test_blocking_timeout_bounds_the_wait(make_backend: BackendFactory) -> None:
    first = make_backend()
    second = make_backend(namespace=first.namespace, lock_blocking_timeout=0.1)
    async with first.lock("job"):
        started = time.perf_counter()
        with pytest.raises(LockTimeoutError, match=r"0\.1"):
            await second.lock("job").acquire()
        assert 0.1 <= time.perf_counter() - started < 1.0


async def test_ttl_is_set_in_milliseconds(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(lock_ttl=2.5)
    async with backend.lock("job"):
        ttl = await raw_redis.pttl(KeyLayout(backend.namespace).lock_key("job"))
        assert 2_000 < ttl <= 2_500


async def test_without_any_ttl_setting_the_lock_key_still_expires(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    backend = make_backend()
    lock = backend.lock("job")
    assert lock.settings() == (True, DEFAULT_LOCK_TTL, DEFAULT_LOCK_BLOCKING_TIMEOUT)
    async with lock:
        ttl = await raw_redis.pttl(KeyLayout(backend.namespace).lock_key("job"))
        assert DEFAULT_LOCK_TTL * 1000 - 1000 < ttl <= DEFAULT_LOCK_TTL * 1000
    assert await raw_redis.exists(KeyLayout(backend.namespace).lock_key("job")) == 0


async def test_an_infinite_ttl_asks_for_a_key_that_never_expires(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    backend = make_backend(lock_ttl=float("inf"))
    async with backend.lock("job"):
        assert await raw_redis.pttl(KeyLayout(backend.namespace).lock_key("job")) == -1


async def test_a_dead_holder_blocks_the_next_acquirer_only_until_the_default_ttl(
    make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shortened defaults, so the test waits a fraction of a second for Redis to expire the key.
    monkeypatch.setattr(_lock, "DEFAULT_LOCK_TTL", 0.3)
    monkeypatch.setattr(_lock, "DEFAULT_LOCK_BLOCKING_TIMEOUT", 3.0)
    dead = make_backend()
    await dead.lock("job").acquire()  # its process "dies": never released
    waiter = make_backend(namespace=dead.namespace)
    started = time.perf_counter()
    lock = waiter.lock("job")
    assert await lock.acquire()
    assert 0.1 < time.perf_counter() - started < 2.0
    await lock.release()


async def test_the_default_blocking_timeout_is_bounded(
    make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_lock, "DEFAULT_LOCK_BLOCKING_TIMEOUT", 0.2)
    holder = make_backend(lock_ttl=30)
    waiter = make_backend(namespace=holder.namespace)
    async with holder.lock("job"):
        started = time.perf_counter()
        with pytest.raises(LockTimeoutError, match=r"0\.2 s"):
            await waiter.lock("job").acquire()
        assert time.perf_counter() - started < 1.5


async def test_a_holder_cancelled_after_set_nx_reached_the_server_frees_the_lock(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(RedisServer)
    namespace = unique_namespace("lock")
    holder = RedisBackend(server.url, namespace=namespace, socket_timeout=5.0)
    waiter = RedisBackend(server.url, namespace=namespace, lock_blocking_timeout=3.0)
    try:
        await holder.lock("warm-up").acquire()  # a pooled connection exists, so SET NX is written at once
        server.pause()
        acquiring = asyncio.create_task(holder.lock("job").acquire())
        await asyncio.sleep(0.05)  # the SET NX is in the server's socket buffer, its reply unread
        acquiring.cancel()
        with pytest.raises(asyncio.CancelledError):
            await acquiring
        server.resume()  # the server now runs SET NX: the key holds the cancelled holder's token
        started = time.perf_counter()
        lock = waiter.lock("job")
        assert await lock.acquire()
        # Freed by the cancelled holder's background release, well before the default TTL.
        assert time.perf_counter() - started < DEFAULT_LOCK_TTL / 2
        await lock.release()
    finally:
        if server.is_paused:
            server.resume()
        await holder.close()
        await waiter.close()


async def test_settings_fall_back_to_config(make_backend: BackendFactory, raw_redis: Redis) -> None:
    first = make_backend()
    second = make_backend(namespace=first.namespace)
    config.set_lock_blocking(False)
    config.set_lock_ttl(7)
    async with first.lock("job"):
        assert 6_000 < await raw_redis.pttl(KeyLayout(first.namespace).lock_key("job")) <= 7_000
        with pytest.raises(LockTimeoutError):
            await second.lock("job").acquire()


async def test_release_never_deletes_a_lock_taken_over_by_someone_else(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    backend = make_backend()
    key = KeyLayout(backend.namespace).lock_key("job")
    lock = backend.lock("job")
    await lock.acquire()
    await raw_redis.set(key, "someone-else")  # as if our TTL ran out and another holder took it
    await lock.release()
    assert await raw_redis.get(key) == b"someone-else"


def test_invalid_lock_settings_name_the_parameter(make_backend: BackendFactory) -> None:
    with pytest.raises(ConfigurationError, match="lock_blocking_timeout"):
        make_backend(lock_blocking_timeout=-1)
