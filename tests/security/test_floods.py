"""A flood of invented identities: memory stays bounded, and a throttled client is never let back in.

An attacker who can pick identities (IPv6 addresses of a /64, say) creates a
key per identity. On Redis and Memcached every key carries a TTL
(``test_memory.py``); the in-memory backend can also be capped with
``max_keys``, and its eviction must never free a client that is throttled.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket
from traffik.testing import MemcachedServer, RedisServer

STRATEGIES = [
    pytest.param(FixedWindow(), id="fixed-window"),
    pytest.param(TokenBucket(), id="token-bucket"),
    pytest.param(SlidingWindowLog(), id="sliding-window-log"),
]
BACKENDS = [
    pytest.param(("inmemory", None, 5_000), marks=pytest.mark.inmemory, id="inmemory"),
    pytest.param(("inmemory", 500, 5_000), marks=pytest.mark.inmemory, id="inmemory-max-keys"),
    pytest.param(("redis", None, 2_000), marks=pytest.mark.redis, id="redis"),
    pytest.param(("memcached", None, 2_000), marks=pytest.mark.memcached, id="memcached"),
]


@pytest.fixture
async def flooded(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ThrottleBackend, ManualClock, int]]:
    kind, max_keys, flood = request.param
    clock = ManualClock(1_700_000_000_000.0)
    namespace = f"flood-{uuid.uuid4().hex[:12]}"
    backend: ThrottleBackend
    if kind == "inmemory":
        backend = InMemoryBackend(namespace, cleanup_frequency=None, clock=clock, max_keys=max_keys)
    elif kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        backend = RedisBackend(redis.url, namespace=namespace, clock=clock)
    else:
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        backend = MemcachedBackend([server.address for server in servers], namespace=namespace, clock=clock)
    await backend.initialize()
    yield backend, clock, flood
    await backend.clear()
    await backend.close()


def from_address(address: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": (address, 40_000)})


def ipv6(n: int) -> str:
    return f"2001:db8:0:7::{n >> 16:x}:{n & 0xFFFF:x}"


def five_a_minute(backend: ThrottleBackend, strategy: ThrottleStrategy) -> HTTPThrottle:
    return HTTPThrottle("flood", rate="5/min", backend=backend, strategy=strategy, registry=ThrottleRegistry())


async def admitted(throttle: HTTPThrottle, address: str) -> bool:
    try:
        await throttle.hit(from_address(address))
    except ConnectionThrottled:
        return False
    return True


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("flooded", BACKENDS, indirect=True)
async def test_a_throttled_client_stays_throttled_through_a_flood(
    flooded: tuple[ThrottleBackend, ManualClock, int], strategy: ThrottleStrategy
) -> None:
    backend, clock, flood = flooded
    throttle = five_a_minute(backend, strategy)
    for _ in range(5):
        assert await admitted(throttle, "203.0.113.7")
    assert not await admitted(throttle, "203.0.113.7")
    for n in range(flood):
        # Fresh identities get their own quota (one hit each: none of them is spent).
        assert await admitted(throttle, ipv6(n))
        if n % 100 == 0:
            clock.advance(10)  # the flood spans a few seconds of the minute
    assert not await admitted(throttle, "203.0.113.7")
    if isinstance(backend, InMemoryBackend) and backend.max_keys is not None:
        assert backend._count <= backend.max_keys


@pytest.mark.inmemory
async def test_a_flood_of_spent_identities_refuses_newcomers_rather_than_evict_anyone() -> None:
    # The documented limit of the bound: when every key examined is throttled, a
    # newcomer waits (fail closed) instead of freeing a throttled client.
    clock = ManualClock(1_700_000_000_000.0)
    backend = InMemoryBackend("spent-flood", cleanup_frequency=None, clock=clock, max_keys=100)
    throttle = five_a_minute(backend, FixedWindow())
    for n in range(100):
        for _ in range(5):
            assert await admitted(throttle, ipv6(n))
    assert not await admitted(throttle, "198.51.100.1")
    assert all([not await admitted(throttle, ipv6(n)) for n in range(100)])
    clock.advance(60_000)  # their window is over: room again
    assert await admitted(throttle, "198.51.100.1")


@pytest.mark.slow
@pytest.mark.inmemory
async def test_fifty_thousand_identities_fit_in_the_bound() -> None:
    clock = ManualClock(1_700_000_000_000.0)
    backend = InMemoryBackend("big-flood", cleanup_frequency=None, clock=clock, max_keys=5_000)
    throttle = five_a_minute(backend, TokenBucket())
    for _ in range(5):
        assert await admitted(throttle, "203.0.113.7")
    for n in range(50_000):
        await throttle.hit(from_address(ipv6(n)))
    assert backend._count == len(backend) == 5_000
    assert not await admitted(throttle, "203.0.113.7")
