"""A hung or dead Redis hands control back within about a second, as a BackendError subclass."""

from __future__ import annotations

import time

import pytest
from traffik.backends.redis import RedisBackend
from traffik.exceptions import BackendConnectionError, BackendTimeoutError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer, ServerFactory

pytestmark = pytest.mark.redis

RATE = Rate.parse("10/s")


async def test_a_frozen_server_times_out_within_a_second(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    backend = RedisBackend(server.url, namespace="faults")
    try:
        assert (await backend.hit("k", FixedWindow(), RATE)).allowed  # a pooled connection exists
        server.pause()
        started = time.perf_counter()
        with pytest.raises(BackendTimeoutError, match="fixed-window"):
            await backend.hit("k", FixedWindow(), RATE)
        assert time.perf_counter() - started < 1.5
        server.resume()
        assert (await backend.hit("k", FixedWindow(), RATE)).allowed  # recovers once the server answers
    finally:
        if server.is_paused:
            server.resume()
        await backend.close()


async def test_a_new_connection_to_a_frozen_server_times_out(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    server.pause()
    backend = RedisBackend(server.url, namespace="faults")
    started = time.perf_counter()
    with pytest.raises(BackendTimeoutError):
        await backend.peek("k", FixedWindow(), RATE)
    assert time.perf_counter() - started < 1.5
    server.resume()
    await backend.close()


async def test_a_dead_server_is_a_connection_error_then_recovers(server_factory: ServerFactory) -> None:
    server = server_factory(RedisServer)
    backend = RedisBackend(server.url, namespace="faults")
    try:
        assert (await backend.hit("k", FixedWindow(), RATE)).allowed
        server.kill()
        started = time.perf_counter()
        with pytest.raises(BackendConnectionError):
            await backend.hit("k", FixedWindow(), RATE)
        with pytest.raises(BackendConnectionError):
            await backend.clear()
        assert time.perf_counter() - started < 1.5
        server.start()
        assert (await backend.hit("k", FixedWindow(), RATE)).allowed
    finally:
        await backend.close()
