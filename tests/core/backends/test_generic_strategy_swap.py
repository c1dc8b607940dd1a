"""``update_strategy()`` on a backend that takes the generic path: the new strategy starts afresh.

A third-party backend stores states through ``load_state``/``store_state``
only; the generic path keeps one state per strategy under a key, as the
built-in backends do, so a swapped strategy never reads a state another
strategy wrote (which some steps read as garbage: a ``ValueError`` for some
pairs, a client locked out for others).
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import pytest
from traffik.backends.base import BackendCapabilities, ThrottleBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    State,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)

RATE = Rate.parse("3/min")
STRATEGIES: list[ThrottleStrategy] = [
    FixedWindow(),
    SlidingWindowCounter(),
    SlidingWindowLog(),
    TokenBucket(),
    TokenBucketWithDebt(),
    LeakyBucket(),
    LeakyBucketWithQueue(),
    GCRA(),
]
PAIRS = [pytest.param(old, new, id=f"{old.NAME}-to-{new.NAME}") for old, new in itertools.permutations(STRATEGIES, 2)]


class StoreOnlyBackend(ThrottleBackend):
    """A backend with a state store and nothing native: every strategy takes the generic path."""

    NAME: ClassVar[str] = "store-only"
    CAPABILITIES: ClassVar[BackendCapabilities] = BackendCapabilities(state_store=True)

    def __init__(self, clock: ManualClock) -> None:
        super().__init__("store-only", clock=clock)
        self.states: dict[str, State] = {}

    async def load_state(self, key: str) -> State | None:
        return self.states.get(key)

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        self.states[key] = state

    async def clear(self) -> None:
        self.states.clear()


@pytest.mark.parametrize(("old", "new"), PAIRS)
async def test_a_swapped_strategy_starts_fresh_on_the_generic_path(
    old: ThrottleStrategy, new: ThrottleStrategy
) -> None:
    clock = ManualClock(1_000_000.0)
    backend = StoreOnlyBackend(clock)
    for _ in range(4):  # the old strategy's client ends out of quota
        await backend.hit("client", old, RATE)
    assert not (await backend.peek("client", old, RATE)).allowed
    state, expected, got = None, [], []
    for _ in range(4):
        state, decision = new.step(state, clock(), 1, RATE)
        expected.append(decision.allowed)
        got.append((await backend.hit("client", new, RATE)).allowed)
    assert got == expected
    # ...and the old strategy's state is still its own.
    assert not (await backend.peek("client", old, RATE)).allowed
