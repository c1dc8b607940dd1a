"""Inventing identifiers cannot grow a store beyond what the TTLs allow."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket
from traffik.testing import RedisServer

INVENTED = 10_000
WINDOW_MS = 60_000


def request_from(identity: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "identity": identity})


def throttle_on(backend: InMemoryBackend | RedisBackend, strategy: ThrottleStrategy) -> HTTPThrottle:
    return HTTPThrottle(
        "memory",
        rate="5/min",
        backend=backend,
        strategy=strategy,
        identifier=lambda connection: connection.scope["identity"],
        registry=ThrottleRegistry(),
    )


@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket(), SlidingWindowLog()], ids=lambda s: s.NAME)
async def test_invented_identities_are_swept_once_their_window_is_over(strategy: ThrottleStrategy) -> None:
    clock = ManualClock(1_000_000.0)
    backend = InMemoryBackend("memory", cleanup_frequency=None, clock=clock)
    throttle = throttle_on(backend, strategy)
    for n in range(INVENTED):
        await throttle.hit(request_from(f"attacker-{n}"))
    assert len(backend) == INVENTED  # one entry per identity, nothing more
    await throttle.hit(request_from("regular"))
    clock.advance(WINDOW_MS)  # every invented entry has expired by now
    await throttle.hit(request_from("regular"))  # a live client's entry is kept
    assert backend.sweep() == INVENTED
    assert len(backend) == 1


async def test_the_sweeper_task_reclaims_without_being_called() -> None:
    clock = ManualClock(1_000_000.0)
    backend = InMemoryBackend("memory", cleanup_frequency=0.01, clock=clock)
    throttle = throttle_on(backend, FixedWindow())
    await backend.initialize()
    try:
        for n in range(1_000):
            await throttle.hit(request_from(f"attacker-{n}"))
        clock.advance(WINDOW_MS)
        for _ in range(200):
            if len(backend) == 0:
                break
            await asyncio.sleep(0.01)  # the sweeper runs on real time; the entries expired on the manual clock
        assert len(backend) == 0
    finally:
        await backend.close()


@pytest.mark.redis
@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket(), SlidingWindowLog()], ids=lambda s: s.NAME)
async def test_every_redis_key_carries_a_ttl_no_longer_than_its_window(
    redis_server: RedisServer, strategy: ThrottleStrategy
) -> None:
    backend = RedisBackend(redis_server.url, namespace=f"memory-{strategy.NAME}")
    throttle = throttle_on(backend, strategy)
    raw = Redis.from_url(redis_server.url)
    try:
        for n in range(200):
            await throttle.hit(request_from(f"attacker-{n}"))
        keys = [key async for key in raw.scan_iter(match=f"memory-{strategy.NAME}:*", count=1_000)]
        assert len(keys) == 200
        for key in keys:
            ttl = await raw.pttl(key)
            assert 0 < ttl <= WINDOW_MS + 1_000, (key, ttl)  # Redis frees it by itself
    finally:
        await raw.aclose()
        await backend.clear()
        await backend.close()
