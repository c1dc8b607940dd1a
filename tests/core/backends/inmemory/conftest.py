"""Fixtures for the in-memory backend tests: a manual clock and the eight strategies."""

from __future__ import annotations

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
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

START_MS = 1_000_000.0

# Each strategy with parameters that allow a burst of the full limit, so
# "exactly `limit` of N simultaneous hits pass" holds for all of them.
BURSTY_STRATEGIES = [
    pytest.param(FixedWindow(), id="fixed-window"),
    pytest.param(SlidingWindowCounter(), id="sliding-window-counter"),
    pytest.param(SlidingWindowLog(), id="sliding-window-log"),
    pytest.param(TokenBucket(), id="token-bucket"),
    pytest.param(TokenBucketWithDebt(), id="token-bucket-with-debt"),
    pytest.param(LeakyBucket(), id="leaky-bucket"),
    pytest.param(LeakyBucketWithQueue(), id="leaky-bucket-with-queue"),
    pytest.param(GCRA(burst_tolerance_ms=59_400), id="gcra"),  # tau = expire - T for 100/min
]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START_MS)


@pytest.fixture
def backend(clock: ManualClock) -> InMemoryBackend:
    return InMemoryBackend(clock=clock, cleanup_frequency=None)


@pytest.fixture(params=BURSTY_STRATEGIES)
def strategy(request: pytest.FixtureRequest) -> ThrottleStrategy:
    assert isinstance(request.param, ThrottleStrategy)
    return request.param
