"""A paused, dead or restarted memcached hands control back quickly, as a BackendError.

Each test owns a private server (``server_factory``): pausing or killing the
session servers would break the other tests.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, ThrottleStrategy, TokenBucket
from traffik.testing import MemcachedServer, ServerFactory

pytestmark = pytest.mark.memcached

RATE = Rate.parse("3/min")
# The two ways a hit reaches memcached: the native incr path and the gets/cas loop.
BOTH_PATHS = pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket()], ids=["native", "cas"])


@pytest.fixture
def server(server_factory: ServerFactory) -> MemcachedServer:
    return server_factory(MemcachedServer)


@pytest.fixture(params=[True, False], ids=["pipelined", "pooled"])
async def lone_backend(
    server: MemcachedServer, clock: ManualClock, request: pytest.FixtureRequest
) -> AsyncIterator[MemcachedBackend]:
    backend = MemcachedBackend([server.address], namespace="failure", clock=clock, auto_pipeline=request.param)
    await backend.initialize()
    yield backend
    await backend.close()


async def timed_failure(backend: MemcachedBackend, strategy: ThrottleStrategy) -> tuple[BackendError, float]:
    started = time.perf_counter()
    with pytest.raises(BackendError) as caught:
        await backend.hit("client", strategy, RATE)
    return caught.value, time.perf_counter() - started


async def test_a_paused_server_times_out_within_a_second_and_recovers_in_step(
    lone_backend: MemcachedBackend, server: MemcachedServer, strategy: ThrottleStrategy
) -> None:
    assert (await lone_backend.hit("client", strategy, RATE)).allowed
    server.pause()
    try:
        error, elapsed = await timed_failure(lone_backend, strategy)
        assert isinstance(error, BackendTimeoutError)
        assert elapsed < 1.2
    finally:
        server.resume()
    # The abandoned command's late reply must not be read as the answer to a later one:
    # a fresh key gets exactly the pure step's decisions.
    state = None
    for _ in range(6):
        state, expected = strategy.step(state, lone_backend.clock(), 1, RATE)
        assert await lone_backend.hit("fresh", strategy, RATE) == expected


@BOTH_PATHS
async def test_a_killed_server_fails_fast_with_a_connection_error(
    lone_backend: MemcachedBackend, server: MemcachedServer, strategy: ThrottleStrategy
) -> None:
    assert (await lone_backend.hit("client", strategy, RATE)).allowed
    server.kill()
    for _ in range(3):
        error, elapsed = await timed_failure(lone_backend, strategy)
        assert isinstance(error, BackendConnectionError)
        assert elapsed < 1.0


@BOTH_PATHS
async def test_a_restarted_server_is_used_again_and_its_counters_start_over(
    lone_backend: MemcachedBackend, server: MemcachedServer, strategy: ThrottleStrategy
) -> None:
    while (await lone_backend.hit("client", strategy, RATE)).allowed:
        pass
    server.restart()
    # Memcached kept nothing: the client gets a fresh quota, on the same generation.
    generation = lone_backend._generation
    assert (await lone_backend.hit("client", strategy, RATE)).allowed
    assert lone_backend._generation == generation


@BOTH_PATHS
async def test_an_unreachable_server_at_start_up_does_not_stop_the_app(
    server: MemcachedServer, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    address = server.address
    server.kill()
    backend = MemcachedBackend([address], namespace="late", clock=clock)
    await backend.initialize()  # logs, does not raise
    with pytest.raises(BackendConnectionError):
        await backend.hit("client", strategy, RATE)
    server.start()
    assert (await backend.hit("client", strategy, RATE)).allowed
    await backend.close()


async def test_one_dead_server_only_affects_the_keys_it_owns(server_factory: ServerFactory, clock: ManualClock) -> None:
    alive, dead = server_factory(MemcachedServer), server_factory(MemcachedServer)
    backend = MemcachedBackend([alive.address, dead.address], namespace="half", clock=clock)
    await backend.initialize()
    dead.kill()
    outcomes = {"ok": 0, "failed": 0}
    for index in range(40):
        try:
            await backend.hit(f"client-{index}", TokenBucket(), RATE)
            outcomes["ok"] += 1
        except BackendConnectionError:
            outcomes["failed"] += 1
    assert outcomes["ok"] > 0
    assert outcomes["failed"] > 0
    await backend.close()
