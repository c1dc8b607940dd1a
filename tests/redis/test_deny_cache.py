"""The deny cache on a real Redis: denied hits stop reaching Redis, and nothing else changes.

Redis's own count of calls (``INFO commandstats``) shows which hits reached it: a script
call, or FixedWindow's ``INCRBY`` (a hit; its peek is a ``GET``).
Windows are an hour long, so a slow machine never sees one end during a test; time
moves only with the :class:`~traffik.clock.ManualClock`.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis
from traffik.backends.deny_cache import DenyCache
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled
from traffik.rates import Rate
from traffik.strategies import GCRA, FixedWindow, SlidingWindowCounter, ThrottleStrategy, TokenBucket
from traffik.throttles import HTTPThrottle

from tests.redis.conftest import BackendFactory

HOURLY = Rate.parse("3/hour")


# Not GET: commandstats counts the commands scripts call too, and the prelude's GET is one.
_HIT_COMMANDS = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_incrby")


async def script_calls(redis: Redis, commands: tuple[str, ...] = _HIT_COMMANDS) -> int:
    """Hits Redis has served so far: script runs (EVALSHA, plus EVAL after a NOSCRIPT) and FixedWindow's INCRBY."""
    stats = await redis.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in commands)


@pytest.mark.parametrize(
    "strategy",
    [FixedWindow(), SlidingWindowCounter(), TokenBucket(), GCRA(burst_tolerance_ms=2_400_000)],
    ids=["fixed-window", "sliding-window-counter", "token-bucket", "gcra"],
)
async def test_denied_hits_stop_reaching_redis(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    cache = DenyCache()
    backend = make_backend(clock=clock, deny_cache=cache)
    await backend.initialize()  # scripts loaded: no NOSCRIPT retry in the count
    before = await script_calls(raw_redis)
    decisions = [await backend.hit("client", strategy, HOURLY) for _ in range(100)]
    assert [d.allowed for d in decisions] == [True] * 3 + [False] * 97
    assert await script_calls(raw_redis) - before == 4  # 3 admitted + the first denial
    assert cache.local_denials == 96
    store_denial, local_denial = decisions[3], decisions[4]
    assert local_denial.wait_ms == store_denial.wait_ms  # the clock has not moved
    assert local_denial.hits_remaining == store_denial.hits_remaining == 0


async def test_the_local_denial_ends_when_the_store_said(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock
) -> None:
    backend = make_backend(clock=clock, deny_cache=True)
    strategy = FixedWindow()
    for _ in range(4):
        await backend.hit("client", strategy, HOURLY)
    wait = (await backend.hit("client", strategy, HOURLY)).wait_ms
    clock.advance(wait - 1)
    local = await backend.hit("client", strategy, HOURLY)
    assert (local.allowed, local.wait_ms) == (False, 1.0)
    before = await script_calls(raw_redis)
    clock.advance(1)
    assert (await backend.hit("client", strategy, HOURLY)).allowed
    assert await script_calls(raw_redis) - before == 1


async def test_a_smaller_cost_still_asks_redis(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock
) -> None:
    backend = make_backend(clock=clock, deny_cache=True)
    strategy, rate = FixedWindow(), Rate.parse("5/hour")
    assert (await backend.hit("client", strategy, rate, 3)).allowed
    assert not (await backend.hit("client", strategy, rate, 3)).allowed
    before = await script_calls(raw_redis)
    assert not (await backend.hit("client", strategy, rate, 3)).allowed
    assert await script_calls(raw_redis) == before
    assert (await backend.hit("client", strategy, rate, 2)).allowed
    assert await script_calls(raw_redis) - before == 1


async def test_clear_forgets_the_denials(make_backend: BackendFactory, clock: ManualClock) -> None:
    backend = make_backend(clock=clock, deny_cache=True)
    strategy = FixedWindow()
    for _ in range(4):
        await backend.hit("client", strategy, HOURLY)
    await backend.clear()
    assert backend.deny_cache is not None
    assert len(backend.deny_cache) == 0
    assert (await backend.hit("client", strategy, HOURLY)).allowed


async def test_another_process_clearing_redis_is_trusted_once_seen(
    make_backend: BackendFactory, clock: ManualClock
) -> None:
    """A clear by another instance is not seen until a hit the entry does not answer reaches Redis."""
    namespace = "deny-cache-shared"
    ours = make_backend(clock=clock, namespace=namespace, deny_cache=True)
    theirs = make_backend(clock=clock, namespace=namespace)
    strategy, rate = FixedWindow(), Rate.parse("2/hour")
    await ours.hit("client", strategy, rate, 2)
    assert not (await ours.hit("client", strategy, rate, 2)).allowed
    await theirs.clear()
    assert not (await ours.hit("client", strategy, rate, 2)).allowed  # answered locally, bounded by the wait
    assert (await ours.hit("client", strategy, rate, 1)).allowed  # Redis admits a cost the entry left to it
    assert (await ours.hit("client", strategy, rate, 1)).allowed  # ... and the entry is gone


async def test_a_throttle_sees_a_local_denial_as_a_redis_one(make_backend: BackendFactory, clock: ManualClock) -> None:
    from starlette.requests import Request

    backend = make_backend(clock=clock, deny_cache=True)
    throttle = HTTPThrottle("deny-cache-throttle", rate="2/hour", backend=backend, identifier=lambda _request: "client")
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "client": ("1.2.3.4", 1),
        "app": None,
    }
    await throttle.hit(Request(scope))
    await throttle.hit(Request(scope))
    details = []
    for _ in range(2):  # the first denial comes from Redis, the second from the cache
        with pytest.raises(ConnectionThrottled) as raised:
            await throttle.hit(Request(scope))
        details.append((raised.value.status_code, raised.value.headers, raised.value.detail))
    assert details[0] == details[1]
    assert backend.deny_cache is not None
    assert backend.deny_cache.local_denials == 1


async def test_peek_always_asks_redis(make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock) -> None:
    backend = make_backend(clock=clock, deny_cache=True)
    strategy = FixedWindow()
    for _ in range(4):
        await backend.hit("client", strategy, HOURLY)
    before = await script_calls(raw_redis, ("cmdstat_get",))  # FixedWindow's peek
    assert not (await backend.peek("client", strategy, HOURLY)).allowed
    assert await script_calls(raw_redis, ("cmdstat_get",)) - before == 1
