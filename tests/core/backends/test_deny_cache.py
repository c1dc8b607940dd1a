"""The deny cache in memory: it never admits what the store denies, never denies what the store admits.

One in-memory store stands for a shared one. "This process" hits it through the
cache (``store.hit``); "another process" hits the same store around the cache
(``InMemoryBackend.hit(store, ...)``), so it only ever consumes. Before each hit of
this process, the store's own answer (a ``peek``, which neither consumes nor goes
through the cache) is the oracle.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from traffik.backends.deny_cache import DEFAULT_MAX_ENTRIES, MONOTONE_STRATEGIES, DenyCache
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)

STRATEGIES: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-burst": TokenBucket(burst_size=2),
    "token-bucket-with-debt": TokenBucketWithDebt(max_debt=2),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(),
    "gcra-burst": GCRA(burst_tolerance_ms=250),
}
# Each key has its rate: every process hits a key with the same strategy and rate (the
# cache's documented condition; a rolling rate change is outside it).
KEYS = {"a": Rate.parse("3/s"), "b": Rate.parse("5/2s")}

# One event: (ms to advance, who, key, cost); who is "self", "other" or "clear".
EVENT = st.tuples(
    st.sampled_from([0, 0, 0, 1, 7, 50, 133, 250, 400, 1000]),
    st.sampled_from(["self", "self", "self", "other", "clear"]),
    st.sampled_from(list(KEYS)),
    st.sampled_from([0, 1, 1, 1, 2, 3, 6]),
)


def test_every_built_in_strategy_is_cached() -> None:
    assert {type(strategy) for strategy in STRATEGIES.values()} == MONOTONE_STRATEGIES


@pytest.mark.parametrize("strategy", list(STRATEGIES.values()), ids=list(STRATEGIES))
@settings(deadline=None, max_examples=150)
@given(events=st.lists(EVENT, min_size=1, max_size=60), max_entries=st.sampled_from([1, 2, DEFAULT_MAX_ENTRIES]))
def test_the_cache_agrees_with_the_store(
    strategy: ThrottleStrategy, events: list[tuple[int, str, str, int]], max_entries: int
) -> None:
    asyncio.run(_replay(strategy, events, max_entries))


async def _replay(strategy: ThrottleStrategy, events: list[tuple[int, str, str, int]], max_entries: int) -> None:
    clock = ManualClock(1_700_000_000_000.0)
    cache = DenyCache(max_entries=max_entries)
    store = InMemoryBackend(clock=clock, deny_cache=cache)
    for advance, who, key, cost in events:
        clock.advance(advance)
        rate = KEYS[key]
        if who == "clear":
            await store.clear()
            assert len(cache) == 0
        elif who == "other":
            await InMemoryBackend.hit(store, key, strategy, rate, cost)
        else:
            expected = await store.peek(key, strategy, rate, cost)
            answered_before = cache.local_denials
            decision = await store.hit(key, strategy, rate, cost)
            assert decision.allowed == expected.allowed, (decision, expected)
            if cache.local_denials > answered_before:  # denied here: never for longer than the store says
                assert 0 < decision.wait_ms <= expected.wait_ms
                assert decision.hits_remaining == 0
                assert expected.hits_remaining < cost
            else:
                assert decision == expected
        assert len(cache) <= max_entries


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(10_000.0)


@pytest.fixture
def cache() -> DenyCache:
    return DenyCache()


@pytest.fixture
def store(clock: ManualClock, cache: DenyCache) -> InMemoryBackend:
    """An in-memory store on the frozen clock, its hits through the deny cache."""
    return InMemoryBackend(clock=clock, deny_cache=cache)


async def test_a_denied_key_is_answered_locally_until_its_wait_has_passed(
    clock: ManualClock, cache: DenyCache, store: InMemoryBackend
) -> None:
    strategy, rate = FixedWindow(), Rate.parse("2/s")
    assert [(await store.hit("k", strategy, rate)).allowed for _ in range(5)] == [True, True, False, False, False]
    assert cache.local_denials == 2
    clock.advance(400)
    local = await store.hit("k", strategy, rate)
    assert (local.allowed, local.wait_ms, local.hits_remaining, local.reset_ms) == (False, 600.0, 0, 600.0)
    clock.advance(600)
    assert (await store.hit("k", strategy, rate)).allowed
    assert cache.local_denials == 3


async def test_a_denial_of_a_larger_cost_leaves_smaller_costs_to_the_store(
    cache: DenyCache, store: InMemoryBackend
) -> None:
    strategy, rate = FixedWindow(), Rate.parse("5/s")
    assert (await store.hit("k", strategy, rate, 3)).allowed
    assert not (await store.hit("k", strategy, rate, 3)).allowed  # 2 left: recorded for cost >= 3
    assert not (await store.hit("k", strategy, rate, 4)).allowed
    assert cache.local_denials == 1
    assert (await store.hit("k", strategy, rate, 2)).allowed  # the store admits it
    assert cache.local_denials == 1


async def test_keys_strategies_and_rates_are_cached_apart(cache: DenyCache, store: InMemoryBackend) -> None:
    rate = Rate.parse("1/s")
    for _ in range(2):
        await store.hit("k", FixedWindow(), rate)
    assert len(cache) == 1
    assert (await store.hit("other", FixedWindow(), rate)).allowed
    assert (await store.hit("k", FixedWindow(), Rate.parse("10/s"))).allowed  # same key, another rate
    assert (await store.hit("k", TokenBucket(), rate)).allowed  # same key, another strategy
    assert cache.local_denials == 0


async def test_peek_is_never_answered_nor_recorded(cache: DenyCache, store: InMemoryBackend) -> None:
    strategy, rate = FixedWindow(), Rate.parse("1/s")
    await store.hit("k", strategy, rate)
    assert not (await store.peek("k", strategy, rate)).allowed
    assert len(cache) == 0
    await store.hit("k", strategy, rate)
    assert len(cache) == 1
    assert not (await store.peek("k", strategy, rate)).allowed
    assert cache.local_denials == 0


async def test_the_oldest_entries_go_first_at_the_bound(clock: ManualClock) -> None:
    cache = DenyCache(max_entries=2)
    store = InMemoryBackend(clock=clock, deny_cache=cache)
    strategy, rate = FixedWindow(), Rate.parse("1/s")
    for key in ("a", "b", "c"):
        await store.hit(key, strategy, rate)
        await store.hit(key, strategy, rate)
    assert len(cache) == 2
    await store.hit("a", strategy, rate)  # evicted: the store answers
    assert cache.local_denials == 0
    await store.hit("c", strategy, rate)
    assert cache.local_denials == 1


async def test_expired_entries_are_dropped_when_looked_up(
    clock: ManualClock, cache: DenyCache, store: InMemoryBackend
) -> None:
    strategy, rate = FixedWindow(), Rate.parse("1/s")
    await store.hit("k", strategy, rate)
    await store.hit("k", strategy, rate)
    clock.advance(1_000)
    assert (await store.hit("k", strategy, rate)).allowed
    assert len(cache) == 0


async def test_reset_forgets_every_denial(cache: DenyCache, store: InMemoryBackend) -> None:
    strategy, rate = FixedWindow(), Rate.parse("1/s")
    await store.hit("k", strategy, rate)
    await store.hit("k", strategy, rate)
    await store.reset()
    assert len(cache) == 0
    assert (await store.hit("k", strategy, rate)).allowed


class _Tweaked(FixedWindow):
    """A subclass may change ``step``: not cached unless named."""


async def test_strategies_outside_the_set_are_not_cached(clock: ManualClock) -> None:
    rate = Rate.parse("1/s")
    default = InMemoryBackend(clock=clock, deny_cache=True)
    for _ in range(3):
        await default.hit("k", _Tweaked(), rate)
    assert default.deny_cache is not None
    assert len(default.deny_cache) == 0
    named = InMemoryBackend(clock=clock, deny_cache=DenyCache(strategies=[_Tweaked]))
    tweaked = _Tweaked()
    for _ in range(3):
        await named.hit("k", tweaked, rate)
    assert named.deny_cache is not None
    assert named.deny_cache.local_denials == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"max_entries": 0}, "DenyCache: max_entries must be a whole number >= 1, got 0", id="zero"),
        pytest.param({"max_entries": 1.5}, "DenyCache: max_entries must be a whole number >= 1, got 1.5", id="float"),
        pytest.param({"strategies": [int]}, "DenyCache: strategies must be an iterable", id="not-strategies"),
        pytest.param({"strategies": "fixed-window"}, "DenyCache: strategies must be an iterable", id="string"),
    ],
)
def test_invalid_cache_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match="^" + message.replace(".", r"\.").replace("[", r"\[")):
        DenyCache(**options)


@pytest.mark.parametrize("value", ["yes", 1, DenyCache], ids=["string", "int", "class"])
def test_an_invalid_deny_cache_option_fails_at_construction(value: object) -> None:
    with pytest.raises(ConfigurationError, match=r"^InMemoryBackend: deny_cache must be True, False, None or a Deny"):
        InMemoryBackend(deny_cache=value)  # type: ignore[arg-type]  # the invalid value under test


def test_a_cache_serves_one_backend() -> None:
    cache = DenyCache()
    InMemoryBackend(deny_cache=cache)
    with pytest.raises(ConfigurationError, match=r"^InMemoryBackend: deny_cache must be a DenyCache no other"):
        InMemoryBackend(deny_cache=cache)


@pytest.mark.parametrize("value", [None, False], ids=["none", "false"])
def test_without_the_option_hits_go_straight_to_the_store(value: bool | None) -> None:
    backend = InMemoryBackend(deny_cache=value)
    assert backend.deny_cache is None
    assert "hit" not in backend.__dict__


async def test_a_cost_that_can_never_pass_is_left_to_the_store(cache: DenyCache, store: InMemoryBackend) -> None:
    """Its wait (until the quota is whole) shrinks as others consume, so no cached wait may answer it."""
    strategy, rate = TokenBucket(), Rate.parse("4/s")
    assert not (await store.hit("k", strategy, rate, 5)).allowed  # fresh: denied for a full second
    assert len(cache) == 0
    await store.hit("k", strategy, rate, 4)
    assert not (await store.hit("k", strategy, rate, 1)).allowed  # cached for cost >= 1 ...
    impossible = await store.hit("k", strategy, rate, 5)  # ... but not for a cost above the bucket
    assert (impossible.allowed, impossible.wait_ms) == (False, 1000.0)
    assert cache.local_denials == 0
