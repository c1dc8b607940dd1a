"""``update_strategy()`` on the in-memory backend: the new strategy starts afresh, as on Redis and Memcached.

States are kept per strategy: a state written by one strategy is never handed
to another one's step (which read it as garbage: a ``ValueError`` for some
pairs, a client locked out for others).
"""

from __future__ import annotations

import itertools

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
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

RATE = Rate.parse("3/min")
BUILT_IN: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-with-debt": TokenBucketWithDebt(),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(),
}
PAIRS = [
    pytest.param(BUILT_IN[old], BUILT_IN[new], id=f"{old}-to-{new}") for old, new in itertools.permutations(BUILT_IN, 2)
]


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("203.0.113.7", 1)})


def test_every_built_in_strategy_is_covered() -> None:
    from traffik.plugins import get_plugin_registry

    assert set(get_plugin_registry().strategies()) == set(BUILT_IN)


@pytest.mark.parametrize(("old", "new"), PAIRS)
async def test_a_swapped_strategy_starts_fresh(old: ThrottleStrategy, new: ThrottleStrategy) -> None:
    clock = ManualClock(1_000_000.0)
    backend = InMemoryBackend(cleanup_frequency=None, clock=clock)
    throttle = HTTPThrottle("swap", rate=RATE, backend=backend, strategy=old, registry=ThrottleRegistry())
    # The old strategy's client is out of quota (denied on its next hit).
    for _ in range(8):
        try:
            await throttle.hit(request())
        except ConnectionThrottled:
            break
    else:
        pytest.fail(f"{old.NAME} never throttled")
    await throttle.update_strategy(new)
    # The new strategy reads nothing of the old one's: its decisions are those of a fresh key
    # (an error reading a foreign state would surface as a denial through on_error="throttle").
    state, expected, admitted = None, [], []
    for _ in range(4):
        state, decision = new.step(state, clock(), 1, RATE)
        expected.append(decision.allowed)
        try:
            await throttle.hit(request())
            admitted.append(True)
        except ConnectionThrottled:
            admitted.append(False)
    assert admitted == expected
    assert expected[0]


@pytest.mark.parametrize(("old", "new"), PAIRS)
async def test_a_swap_back_finds_the_old_state(old: ThrottleStrategy, new: ThrottleStrategy) -> None:
    # Like a Redis key per strategy: each strategy keeps its own state until it expires.
    backend = InMemoryBackend(cleanup_frequency=None, clock=ManualClock(1_000_000.0))
    for _ in range(3):
        await backend.hit("client", old, RATE)
    await backend.hit("client", new, RATE)
    assert not (await backend.hit("client", old, RATE)).allowed
