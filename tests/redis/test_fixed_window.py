"""FixedWindow's counter per window on a real Redis: concurrency, give-backs, clocks, TTLs, clearing."""

from __future__ import annotations

import asyncio
import random

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer

from tests.redis.conftest import BackendFactory
from tests.redis.strategies import window_pattern_of

pytestmark = pytest.mark.redis

HOURLY = Rate.parse("50/hour")  # an hour: no window ends during a test
SLACK_MS = 30_000  # real time a loaded machine may take between setting a TTL and reading it


@pytest.mark.parametrize("auto_pipeline", [True, False], ids=["pipelined", "connection-per-hit"])
@pytest.mark.parametrize("seed", range(3))
async def test_concurrent_hits_of_mixed_costs_never_pass_the_limit(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock, auto_pipeline: bool, seed: int
) -> None:
    # Give-backs and a full window's leftover increments interleave with other hits: the
    # admitted cost still never passes the limit, and the counter never reads below it.
    backend = make_backend(clock=clock, auto_pipeline=auto_pipeline)
    draw = random.Random(seed)
    costs = [draw.choice([1, 1, 2, 3, 5, 8, 0, 51]) for _ in range(200)]
    decisions = await asyncio.gather(*(backend.hit("hot", FixedWindow(), HOURLY, cost) for cost in costs))
    admitted = sum(cost for cost, decision in zip(costs, decisions, strict=True) if decision.allowed)
    assert 0 < admitted <= HOURLY.limit
    (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, "hot"))
    stored = await raw_redis.get(key)
    assert stored is not None
    assert int(stored) >= admitted  # given-back costs gone, a full window's leftovers kept


async def test_concurrent_unit_hits_admit_exactly_the_limit(make_backend: BackendFactory, clock: ManualClock) -> None:
    backend = make_backend(clock=clock)
    decisions = await asyncio.gather(*(backend.hit("hot", FixedWindow(), HOURLY) for _ in range(200)))
    assert sum(decision.allowed for decision in decisions) == HOURLY.limit
    assert sorted(decision.hits_remaining for decision in decisions if decision.allowed) == list(range(50))


async def test_a_failed_give_back_leaves_the_denial_and_only_denies_more(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = make_backend(clock=clock, on_error="raise")
    rate = Rate.parse("5/hour")
    assert (await backend.hit("k", FixedWindow(), rate, cost=3)).allowed

    async def lost(key: str, cost: int, ttl_ms: int) -> None:  # its connection drops (a fault no server makes on cue)
        raise RedisConnectionError("connection lost")

    monkeypatch.setattr(backend, "_uncount", lost)
    denied = await backend.hit("k", FixedWindow(), rate, cost=3)  # no room for 3: a give-back that fails
    assert (denied.allowed, denied.hits_remaining) == (False, 2)
    (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, "k"))
    assert await raw_redis.get(key) == b"6"  # over by the cost that was not given back
    assert not (await backend.hit("k", FixedWindow(), rate)).allowed  # reads as full: more denials, no admission


async def test_the_hit_that_creates_a_window_s_key_sets_its_ttl_and_later_hits_leave_it(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock
) -> None:
    # The key lives until the window's end plus the margin, as the first hit saw it: a later
    # hit in the same window (whose own TTL would be shorter) does not touch the TTL.
    backend = make_backend(clock=clock, clock_margin_ms=5_000)
    window_end = (clock() // HOURLY.expire + 1) * HOURLY.expire
    expected = int(window_end - clock()) + 5_000
    assert (await backend.hit("k", FixedWindow(), HOURLY)).allowed
    (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, "k"))
    assert expected - SLACK_MS < await raw_redis.pttl(key) <= expected
    clock.advance((window_end - clock()) / 2)  # still this window; a TTL from now would be shorter by this much
    assert expected - (window_end - clock()) > SLACK_MS
    assert (await backend.hit("k", FixedWindow(), HOURLY)).hits_remaining == HOURLY.limit - 2
    assert expected - SLACK_MS < await raw_redis.pttl(key) <= expected


async def test_a_give_back_after_the_key_expired_leaves_a_key_with_the_hit_s_ttl(
    make_backend: BackendFactory, raw_redis: Redis, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With clock_margin_ms=0 a window's key may expire between a denied hit and its give-back:
    # the give-back recreates it with the hit's TTL, holding a negative count the next hit resets.
    backend = make_backend(clock=clock, clock_margin_ms=5_000)
    rate = Rate.parse("5/hour")
    window_end = (clock() // rate.expire + 1) * rate.expire
    expected = int(window_end - clock()) + 5_000
    assert (await backend.hit("k", FixedWindow(), rate, cost=3)).allowed
    (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, "k"))
    give_back = backend._uncount

    async def after_expiry(key: str, cost: int, ttl_ms: int) -> None:
        await raw_redis.delete(key)  # expired just now (deleted: the server cannot expire it on cue)
        await give_back(key, cost, ttl_ms)

    with monkeypatch.context() as patch:
        patch.setattr(backend, "_uncount", after_expiry)
        assert not (await backend.hit("k", FixedWindow(), rate, cost=3)).allowed  # room for 2: a give-back
    assert await raw_redis.get(key) == b"-3"
    assert expected - SLACK_MS < await raw_redis.pttl(key) <= expected
    assert (await backend.hit("k", FixedWindow(), rate, cost=5)).hits_remaining == 0  # reset: the window afresh


async def test_a_lagging_instance_counts_in_the_window_it_sees_while_the_margin_keeps_it(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    # Each instance picks the window on its own clock; the key outlives the window by the margin,
    # so an instance lagging by less than that still meets the count the others left there.
    ahead, behind = ManualClock(59_900.0), ManualClock(59_500.0)
    namespace = "lagging-clocks"
    first = make_backend(namespace=namespace, clock=ahead, clock_margin_ms=600_000)
    second = make_backend(namespace=namespace, clock=behind, clock_margin_ms=600_000)
    rate = Rate.parse("3/min")
    assert (await first.hit("k", FixedWindow(), rate, cost=3)).allowed  # the window ending at 60_000 is full
    ahead.advance(300.0)  # 60_200: a new window for the first instance
    behind.advance(300.0)  # 59_800: still the old one for the second
    assert not (await second.hit("k", FixedWindow(), rate)).allowed
    assert (await first.hit("k", FixedWindow(), rate)).allowed
    layout = KeyLayout(namespace)
    assert await raw_redis.get(layout.window_key("k", 60_000)) == b"4"  # the denial's increment: full
    assert await raw_redis.get(layout.window_key("k", 120_000)) == b"1"


async def test_clear_removes_every_window(make_backend: BackendFactory, raw_redis: Redis) -> None:
    clock = ManualClock(1_000.0)
    backend = make_backend(clock=clock, clock_margin_ms=3_600_000)
    for _ in range(3):  # three windows' keys, all alive for the margin
        await backend.hit("k", FixedWindow(), Rate.parse("1/min"))
        clock.advance(60_000.0)
    assert len(await raw_redis.keys(window_pattern_of(backend.namespace, "k"))) == 3
    await backend.clear()
    assert await raw_redis.keys(f"{backend.namespace}:*") == []


async def test_a_cost_zero_or_over_the_limit_only_reads(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(1_000.0))
    rate = Rate.parse("3/min")
    for cost in (0, 4):
        decision = await backend.hit("k", FixedWindow(), rate, cost)
        assert decision.allowed is (cost == 0)
    assert await raw_redis.keys(f"{backend.namespace}:*") == []  # nothing was written


async def test_a_decode_responses_client_reads_its_counts(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    backend = RedisBackend(client, namespace="decoded-counter", clock=ManualClock(1_000.0))
    try:
        rate = Rate.parse("3/min")
        assert (await backend.hit("k", FixedWindow(), rate, cost=2)).hits_remaining == 1
        assert (await backend.peek("k", FixedWindow(), rate)).hits_remaining == 0
        await backend.clear()
    finally:
        await client.aclose()
