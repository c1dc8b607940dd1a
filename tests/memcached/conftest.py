"""Fixtures of the Memcached backend tests: backends on the two session servers.

Every backend gets a fresh namespace, so tests sharing the session servers never
see each other's data; time is a :class:`~traffik.clock.ManualClock`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from traffik.backends.memcached import MemcachedBackend
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
from traffik.testing import MemcachedServer

BackendFactory = Callable[..., MemcachedBackend]

# 100/min is the rate of the exactness tests; GCRA needs a burst tolerance of
# expire - T to let a full minute's quota through at once like the others.
STRATEGIES: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-with-debt": TokenBucketWithDebt(max_debt=3),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(burst_tolerance_ms=59_400),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test that takes a ``strategy`` argument runs once per strategy, with the strategy's name as id.

    A test that parametrizes ``strategy`` itself keeps its own list.
    """
    own = any("strategy" in str(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize"))
    if "strategy" in metafunc.fixturenames and not own:
        metafunc.parametrize("strategy", list(STRATEGIES.values()), ids=list(STRATEGIES))


def unique_namespace() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def clock() -> ManualClock:
    """A frozen clock in the middle of a minute (so minute windows do not roll over by accident)."""
    return ManualClock(1_700_000_010_000.0)


@pytest.fixture
async def make_backend(
    memcached_servers: tuple[MemcachedServer, MemcachedServer], clock: ManualClock
) -> AsyncIterator[BackendFactory]:
    """``make_backend(**options)``: a backend on both session servers, closed at the end of the test."""
    made: list[MemcachedBackend] = []

    def make(**options: Any) -> MemcachedBackend:
        options.setdefault("namespace", unique_namespace())
        options.setdefault("clock", clock)
        servers = options.pop("servers", [server.address for server in memcached_servers])
        backend = MemcachedBackend(servers, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture
def backend(make_backend: BackendFactory) -> MemcachedBackend:
    """A backend on both session servers with a fresh namespace and the frozen clock."""
    return make_backend()
