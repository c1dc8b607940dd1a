"""Backend contract: what every backend promises through ``hit`` / ``peek`` and its lifespan.

Each test runs once per backend registered through the ``traffik`` entry
points (``traffik_backend_name`` is parametrized by the plugin), with a
:class:`~traffik.clock.ManualClock`: time moves only when a test moves it.
"""

from __future__ import annotations

import pytest
from traffik.clock import ManualClock
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
from traffik.testing.spec._backends import BackendFactory

pytestmark = pytest.mark.asyncio

RATE = Rate.parse("5/min")

# Every strategy admits exactly `limit` hits of cost 1 at one instant from a fresh key.
# GCRA's burst tolerance must cover limit - 1 emission intervals (12 s each at 5/min) to do so.
STRATEGIES: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-with-debt": TokenBucketWithDebt(),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(burst_tolerance_ms=48_000),
}

strategies = pytest.mark.parametrize("strategy", list(STRATEGIES.values()), ids=list(STRATEGIES))


async def _allowed(
    backend_factory: BackendFactory, strategy: ThrottleStrategy, hits: int, key: str = "k"
) -> list[bool]:
    backend = backend_factory()
    return [(await backend.hit(key, strategy, RATE)).allowed for _ in range(hits)]


@strategies
async def test_limit_holds(traffik_backend: BackendFactory, strategy: ThrottleStrategy) -> None:
    """Rate: ``Rate.parse("5/min")`` admits at most ``limit`` hits in its window, for every strategy."""
    backend = traffik_backend()
    decisions = [await backend.hit("client", strategy, RATE) for _ in range(RATE.limit + 3)]
    assert [d.allowed for d in decisions[: RATE.limit]] == [True] * RATE.limit
    assert not any(d.allowed for d in decisions[RATE.limit :]), decisions
    assert all(d.wait_ms > 0 for d in decisions[RATE.limit :])


@strategies
async def test_quota_returns_after_the_window(
    traffik_backend: BackendFactory, traffik_clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    """Rate: the window (``expire`` ms) is the time after which a throttled client passes again."""
    backend = traffik_backend()
    for _ in range(RATE.limit):
        await backend.hit("client", strategy, RATE)
    denied = await backend.hit("client", strategy, RATE)
    assert not denied.allowed
    traffik_clock.advance(denied.wait_ms)
    assert (await backend.hit("client", strategy, RATE)).allowed


@strategies
async def test_decisions_report_when_the_quota_is_whole_again(
    traffik_backend: BackendFactory, traffik_clock: ManualClock, strategy: ThrottleStrategy
) -> None:
    """Header.RESET_SECONDS: an admitted hit reports the time until its window resets, from the same call."""
    backend = traffik_backend()
    fresh = await backend.peek("client", strategy, RATE)
    assert fresh.reset_ms == 0  # nothing counted yet
    admitted = await backend.hit("client", strategy, RATE)
    assert admitted.allowed
    assert 0 < admitted.reset_ms <= 2 * RATE.expire
    traffik_clock.advance(admitted.reset_ms)
    # Once that time has passed the client's quota is whole: a full burst passes again.
    assert (await backend.peek("client", strategy, RATE)).reset_ms == 0


@strategies
async def test_cost_consumes_that_many_hits(traffik_backend: BackendFactory, strategy: ThrottleStrategy) -> None:
    """HTTPThrottle.param[cost]: a hit of cost N consumes N units of quota."""
    backend = traffik_backend()
    assert (await backend.hit("client", strategy, RATE, cost=3)).allowed
    assert (await backend.hit("client", strategy, RATE, cost=2)).allowed
    assert not (await backend.hit("client", strategy, RATE, cost=1)).allowed


@strategies
async def test_cost_above_remaining_is_denied_and_consumes_nothing(
    traffik_backend: BackendFactory, strategy: ThrottleStrategy
) -> None:
    """HTTPThrottle.method[hit]: a denied hit consumes nothing, so smaller hits still pass."""
    backend = traffik_backend()
    assert (await backend.hit("client", strategy, RATE, cost=4)).allowed
    assert not (await backend.hit("client", strategy, RATE, cost=2)).allowed
    assert (await backend.hit("client", strategy, RATE, cost=1)).allowed


@strategies
async def test_peek_does_not_consume(traffik_backend: BackendFactory, strategy: ThrottleStrategy) -> None:
    """HTTPThrottle.method[check]: checking quota (``peek``) never consumes it."""
    backend = traffik_backend()
    for _ in range(RATE.limit * 2):
        assert (await backend.peek("client", strategy, RATE)).allowed
    assert await _hits_until_denied(backend, strategy) == RATE.limit


async def _hits_until_denied(backend: object, strategy: ThrottleStrategy) -> int:
    from traffik.backends.base import ThrottleBackend

    assert isinstance(backend, ThrottleBackend)
    count = 0
    while (await backend.hit("client", strategy, RATE)).allowed:
        count += 1
        assert count <= RATE.limit, "more hits admitted than the limit"
    return count


@strategies
async def test_peek_reports_denial_when_exhausted(traffik_backend: BackendFactory, strategy: ThrottleStrategy) -> None:
    """HTTPThrottle.method[check]: ``check`` returns ``False`` once the client is out of quota."""
    backend = traffik_backend()
    for _ in range(RATE.limit):
        await backend.hit("client", strategy, RATE)
    decision = await backend.peek("client", strategy, RATE)
    assert not decision.allowed
    assert decision.wait_ms > 0


async def test_keys_are_independent(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.param[identifier]: each throttle key has its own quota."""
    backend = traffik_backend()
    for _ in range(RATE.limit):
        await backend.hit("a", FixedWindow(), RATE)
    assert not (await backend.hit("a", FixedWindow(), RATE)).allowed
    assert (await backend.hit("b", FixedWindow(), RATE)).allowed


async def test_namespaces_isolate_data(traffik_backend: BackendFactory) -> None:
    """InMemoryBackend.param[namespace]: the namespace isolates storage; clearing one leaves the other."""
    first, second = traffik_backend(), traffik_backend()
    for _ in range(RATE.limit):
        await first.hit("client", FixedWindow(), RATE)
    assert not (await first.hit("client", FixedWindow(), RATE)).allowed
    assert (await second.hit("client", FixedWindow(), RATE)).allowed
    await second.clear()
    assert not (await first.hit("client", FixedWindow(), RATE)).allowed


async def test_unlimited_rate_always_admits(traffik_backend: BackendFactory) -> None:
    """Rate.param[limit]: ``0`` with no duration means unlimited."""
    backend = traffik_backend()
    unlimited = Rate()
    assert unlimited.unlimited
    decisions = [await backend.hit("client", FixedWindow(), unlimited, cost=1_000) for _ in range(50)]
    assert all(d.allowed and d.wait_ms == 0 for d in decisions)


async def test_lifespan_clears_when_not_persistent(traffik_backend: BackendFactory) -> None:
    """InMemoryBackend.param[persistent]: with ``persistent=False`` the lifespan's shutdown clears the data."""
    backend = traffik_backend(persistent=False)
    async with backend.lifespan(None):
        for _ in range(RATE.limit):
            await backend.hit("client", FixedWindow(), RATE)
        assert not (await backend.hit("client", FixedWindow(), RATE)).allowed
    async with backend.lifespan(None):
        assert (await backend.hit("client", FixedWindow(), RATE)).allowed


async def test_lifespan_keeps_data_when_persistent(traffik_backend: BackendFactory) -> None:
    """InMemoryBackend.param[persistent]: ``persistent=True`` keeps data across ``lifespan`` restarts."""
    backend = traffik_backend(persistent=True)
    async with backend.lifespan(None):
        for _ in range(RATE.limit):
            await backend.hit("client", FixedWindow(), RATE)
    async with backend.lifespan(None):
        assert not (await backend.hit("client", FixedWindow(), RATE)).allowed


async def test_lifespan_installs_the_active_backend(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.param[backend]: a throttle without a backend uses the one the lifespan installed."""
    from traffik.backends.base import get_active_backend

    backend = traffik_backend()
    async with backend.lifespan(None):
        assert get_active_backend() is backend
    assert get_active_backend() is not backend
