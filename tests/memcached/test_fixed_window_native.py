"""FixedWindow's native incr/add path against the pure step, on random event sequences."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.strategies._base import State
from traffik.testing import MemcachedServer

pytestmark = pytest.mark.memcached

EVENTS = st.lists(
    st.tuples(st.sampled_from([0, 0, 1, 7, 250, 999, 1_000, 1_001, 3_000]), st.integers(min_value=0, max_value=7)),
    min_size=1,
    max_size=40,
)


async def run_differential(
    servers: list[tuple[str, int]], limit: int, window_ms: int, start: float, events: list[tuple[int, int]]
) -> None:
    clock = ManualClock(start)
    rate = Rate(limit=limit, milliseconds=window_ms)
    strategy = FixedWindow()
    backend = MemcachedBackend(servers, namespace=f"fw-{uuid.uuid4().hex}", clock=clock)
    assert backend._runner(strategy).strategy_class is FixedWindow  # the native path is under test
    state: State | None = None
    try:
        for advance, cost in events:
            clock.advance(advance)
            now = clock()
            expected_peek = strategy.peek(state, now, cost, rate)
            state, expected = strategy.step(state, now, cost, rate)
            assert await backend.peek("client", strategy, rate, cost) == expected_peek
            assert await backend.hit("client", strategy, rate, cost) == expected
    finally:
        await backend.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    limit=st.integers(min_value=1, max_value=6),
    window_ms=st.sampled_from([1_000, 2_500, 60_000]),
    start=st.floats(min_value=0, max_value=1e12, allow_nan=False).map(lambda x: float(int(x))),
    events=EVENTS,
)
def test_native_fixed_window_agrees_with_the_pure_step(
    memcached_servers: tuple[MemcachedServer, MemcachedServer],
    limit: int,
    window_ms: int,
    start: float,
    events: list[tuple[int, int]],
) -> None:
    servers = [server.address for server in memcached_servers]
    asyncio.run(run_differential(servers, limit, window_ms, start, events))
