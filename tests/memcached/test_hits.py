"""Every strategy enforces its limit on real memcached servers, and agrees with its pure step."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow, ThrottleStrategy, TokenBucket
from traffik.strategies._base import UNLIMITED_DECISION, Decision, State

pytestmark = pytest.mark.memcached

BackendFactory = Callable[..., MemcachedBackend]


async def test_admits_the_limit_then_denies_then_recovers(
    backend: MemcachedBackend, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    rate = Rate.parse("100/min")
    limit = 103 if "debt" in type(strategy).__name__.lower() else 100
    decisions = [await backend.hit("client", strategy, rate) for _ in range(limit + 5)]
    assert [d.allowed for d in decisions] == [True] * limit + [False] * 5
    assert all(d.wait_ms > 0 for d in decisions[limit:])
    clock.advance(decisions[-1].wait_ms)
    assert (await backend.hit("client", strategy, rate)).allowed


async def test_decisions_equal_the_pure_step_on_a_random_sequence(
    backend: MemcachedBackend, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    rng = random.Random(f"{type(strategy).__name__}-sequence")
    rate = Rate.parse("5/2s")
    state: State | None = None
    for _ in range(60):
        clock.advance(rng.choice([0, 0, 1, 90, 250, 400, 1_100, 2_500]))
        cost = rng.choice([0, 1, 1, 1, 2, 3, 6])
        now = clock()
        pure_state = state if state is not None and state[0] > now else None
        state, expected = strategy.step(pure_state, now, cost, rate)
        assert await backend.peek("seq", strategy, rate, cost) == strategy.peek(pure_state, now, cost, rate)
        assert await backend.hit("seq", strategy, rate, cost) == expected


async def test_peek_consumes_nothing(backend: MemcachedBackend, strategy: ThrottleStrategy) -> None:
    rate = Rate.parse("2/min")
    for _ in range(5):
        assert (await backend.peek("peeked", strategy, rate)).allowed
    assert [(await backend.hit("peeked", strategy, rate)).allowed for _ in range(2)] == [True, True]


async def test_keys_and_namespaces_are_isolated(make_backend: BackendFactory, strategy: ThrottleStrategy) -> None:
    rate = Rate.parse("1/min")
    first, second = make_backend(), make_backend()
    admitted = [(await first.hit("a", strategy, rate)).allowed for _ in range(6)]
    assert admitted[0]
    assert not admitted[-1]
    assert (await first.hit("b", strategy, rate)).allowed
    assert (await second.hit("a", strategy, rate)).allowed


async def test_two_instances_on_one_namespace_share_the_quota(make_backend: BackendFactory) -> None:
    strategy, rate = TokenBucket(), Rate.parse("3/min")
    first = make_backend()
    second = make_backend(namespace=first.namespace, servers=list(reversed(first.servers)))
    allowed = [(await backend.hit("shared", strategy, rate)).allowed for backend in (first, second, first, second)]
    assert allowed == [True, True, True, False]


async def test_unlimited_rates_never_reach_memcached(strategy: ThrottleStrategy) -> None:
    # Nothing listens on port 1: any command would fail.
    backend = MemcachedBackend([("127.0.0.1", 1)])
    assert await backend.hit("k", strategy, Rate()) is UNLIMITED_DECISION
    assert await backend.peek("k", strategy, Rate()) is UNLIMITED_DECISION


async def test_fixed_window_is_one_memcached_operation_once_the_window_exists(
    backend: MemcachedBackend,
) -> None:
    strategy, rate = FixedWindow(), Rate.parse("3/min")
    await backend.hit("ops", strategy, rate)  # creates the window (incr miss + add)

    async def operations() -> int:
        totals = 0
        for client in backend._clients:
            stats = await client.stats()
            totals += sum(int(stats[name]) for name in ("cmd_get", "cmd_set", "cmd_touch"))
            totals += sum(int(stats[name]) for name in ("incr_hits", "incr_misses", "decr_hits", "decr_misses"))
        return totals

    before = await operations()
    decisions: list[Decision] = [await backend.hit("ops", strategy, rate) for _ in range(4)]
    after = await operations()
    assert [d.allowed for d in decisions] == [True, True, False, False]
    assert after - before == 4


async def test_cost_zero_and_cost_over_the_limit_follow_the_pure_step(backend: MemcachedBackend) -> None:
    strategy, rate = FixedWindow(), Rate.parse("3/min")
    assert (await backend.hit("costs", strategy, rate, 2)).allowed
    zero = await backend.hit("costs", strategy, rate, 0)
    assert (zero.allowed, zero.hits_remaining) == (True, 1)
    too_big = await backend.hit("costs", strategy, rate, 4)
    assert (too_big.allowed, too_big.hits_remaining) == (False, 1)
    partial = await backend.hit("costs", strategy, rate, 2)  # denied: only 1 left, and given back
    assert not partial.allowed
    assert (await backend.hit("costs", strategy, rate, 1)).allowed


@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket()], ids=["native", "cas"])
async def test_every_stored_key_has_a_ttl_just_past_its_state(
    backend: MemcachedBackend, clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    rate = Rate.parse("10/min")  # the frozen clock is 30 s into a minute
    await backend.hit("ttl", strategy, rate)
    parts = (
        (strategy.NAME, "ttl", str(int((clock() // 60_000 + 1) * 60_000)))
        if isinstance(strategy, FixedWindow)
        else (strategy.NAME, "ttl")
    )
    client, key = await backend.locate(*parts)
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(b"mg " + key + b" t\r\n")  # meta get: remaining TTL in seconds
        reply = (await reader.readline()).split()
    finally:
        writer.close()
        await writer.wait_closed()
    assert reply[0] == b"HD"
    ttl = int(reply[1].removeprefix(b"t"))
    expected = 31 if isinstance(strategy, FixedWindow) else 7  # window end / bucket refill, + 1 spare second
    assert expected - 1 <= ttl <= expected
