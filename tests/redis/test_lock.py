"""RedisBackend.lock: a lock in Redis honouring blocking, TTL and blocking timeout, with config fallbacks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis
from traffik import config
from traffik.backends.redis._keys import KeyLayout
from traffik.exceptions import ConfigurationError, LockTimeoutError
from traffik.locks import AsyncLock

from tests.redis.conftest import BackendFactory

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


async def test_without_ttl_the_lock_key_does_not_expire(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend()
    async with backend.lock("job"):
        assert await raw_redis.pttl(KeyLayout(backend.namespace).lock_key("job")) == -1
    assert await raw_redis.exists(KeyLayout(backend.namespace).lock_key("job")) == 0


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
