"""``max_keys``: an optional bound on stored keys whose eviction never lets a throttled client back in."""

from __future__ import annotations

import random

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket

FIVE_A_MINUTE = Rate.parse("5/min")


def stored(backend: InMemoryBackend) -> int:
    """Keys actually held, expired or not (what the bound limits)."""
    return sum(len(slot) for _, slot in backend._all_slots)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10"])
def test_an_invalid_bound_is_refused_at_construction(value: object) -> None:
    with pytest.raises(
        ConfigurationError, match=rf"InMemoryBackend: max_keys must be an int >= 1 or None, got {value!r}"
    ):
        InMemoryBackend(max_keys=value)  # type: ignore[arg-type]  # invalid values are the point


def test_no_bound_by_default() -> None:
    assert InMemoryBackend().max_keys is None
    assert InMemoryBackend(max_keys=10).max_keys == 10
    assert "max_keys=10" in repr(InMemoryBackend(max_keys=10))


@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket(), SlidingWindowLog()], ids=lambda s: s.NAME)
async def test_a_flood_of_identities_stays_within_the_bound(clock: ManualClock, strategy: ThrottleStrategy) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=100)
    for n in range(2_000):
        # Each identity is fresh and not spent: the newcomer gets in, an older one is evicted.
        assert (await backend.hit(f"invented-{n}", strategy, FIVE_A_MINUTE)).allowed
        assert stored(backend) <= 100
    assert stored(backend) == backend._count == 100


@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket(), SlidingWindowLog()], ids=lambda s: s.NAME)
async def test_a_throttled_client_is_never_evicted(clock: ManualClock, strategy: ThrottleStrategy) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=50)
    for _ in range(5):
        assert (await backend.hit("greedy", strategy, FIVE_A_MINUTE)).allowed
    for n in range(5_000):
        await backend.hit(f"invented-{n}", strategy, FIVE_A_MINUTE)
        clock.advance(1)  # the flood spans 5 s of the minute
    assert not (await backend.hit("greedy", strategy, FIVE_A_MINUTE)).allowed


async def test_expired_keys_make_room_before_any_live_one_is_evicted(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=100)
    for n in range(50):
        await backend.hit(f"short-{n}", FixedWindow(), Rate.parse("5/s"))
        await backend.hit(f"long-{n}", FixedWindow(), FIVE_A_MINUTE)
    clock.advance(1_000)  # every short-lived key has expired, none was swept
    for n in range(50):
        assert (await backend.hit(f"new-{n}", FixedWindow(), FIVE_A_MINUTE)).allowed
    for n in range(50):
        assert await backend.load_state(f"long-{n}") is not None
    assert stored(backend) == 100


async def test_the_key_expiring_soonest_is_evicted(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=3)
    await backend.hit("hourly", FixedWindow(), Rate.parse("5/hour"))
    await backend.hit("per-second", FixedWindow(), Rate.parse("5/s"))
    await backend.hit("minutely", FixedWindow(), FIVE_A_MINUTE)
    await backend.hit("newcomer", FixedWindow(), FIVE_A_MINUTE)
    assert await backend.load_state("per-second") is None
    assert all([await backend.load_state(key) for key in ("hourly", "minutely", "newcomer")])


async def test_when_every_key_is_spent_a_new_identity_is_refused_until_one_expires(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=10)
    rate = Rate.parse("1/min")
    for n in range(10):
        assert (await backend.hit(f"spent-{n}", FixedWindow(), rate)).allowed  # 0 left: spent
        clock.advance(100)
    refused = await backend.hit("newcomer", FixedWindow(), rate)
    assert (refused.allowed, refused.hits_remaining) == (False, 0)
    # Until the first window ends (windows are aligned on whole minutes).
    assert refused.wait_ms == (clock() // 60_000 + 1) * 60_000 - clock()
    for n in range(10):
        assert not (await backend.hit(f"spent-{n}", FixedWindow(), rate)).allowed
    clock.advance(refused.wait_ms)
    assert (await backend.hit("newcomer", FixedWindow(), rate)).allowed
    assert stored(backend) == 1  # the spent keys all expired with their window: the scan dropped them


async def test_a_client_with_quota_left_is_not_spent(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=2)
    await backend.hit("spent", FixedWindow(), Rate.parse("1/min"))
    await backend.hit("has-quota", FixedWindow(), FIVE_A_MINUTE)
    await backend.hit("newcomer", FixedWindow(), FIVE_A_MINUTE)
    assert await backend.load_state("has-quota") is None
    assert await backend.load_state("spent") is not None


async def test_the_count_stays_exact_through_every_operation(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=40, number_of_shards=2)
    strategies = [FixedWindow(), TokenBucket(), SlidingWindowLog()]
    rates = [Rate.parse("3/s"), Rate.parse("20/min")]
    chooser = random.Random(7)
    for step in range(3_000):
        action = chooser.random()
        if action < 0.8:
            strategy, rate = chooser.choice(strategies), chooser.choice(rates)
            await backend.hit(f"client-{chooser.randrange(80)}", strategy, rate, chooser.choice([1, 1, 2, 25]))
        elif action < 0.9:
            clock.advance(chooser.choice([10, 250, 1_000]))
        elif action < 0.95:
            backend.sweep_shard()
        else:
            await backend.clear()
        assert backend._count == stored(backend) <= 40, step
        assert backend._spent is not None
        assert len(backend._spent) <= stored(backend)


async def test_stored_states_are_counted(clock: ManualClock) -> None:
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock, max_keys=5)
    await backend.store_state("seeded", (clock() + 500, 1.0), 500, strategy=FixedWindow.NAME)
    await backend.store_state("seeded", (clock() + 600, 2.0), 600, strategy=FixedWindow.NAME)
    await backend.hit("seeded", SlidingWindowLog(), FIVE_A_MINUTE)
    assert backend._count == stored(backend) == 2
