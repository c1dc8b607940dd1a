"""Every Lua strategy against the pure reference step, on random (time, cost) sequences.

Each example replays one random sequence of hits and peeks through the Redis
backend (time driven by a :class:`~traffik.clock.ManualClock` sent to the
scripts) and through the strategy's pure ``step``/``peek``. Decisions must be
equal (allowed, wait, hits remaining, metadata) and, after every event, the
state stored in Redis (packed doubles) must be the reference state, bit for bit.
"""

from __future__ import annotations

import itertools
import os
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import SlidingWindowLog
from traffik.strategies._base import State, ThrottleStrategy

from tests.redis.conftest import BackendFactory
from tests.redis.strategies import INSTANCES

pytestmark = pytest.mark.redis

_keys = itertools.count()
EXAMPLES = int(os.environ.get("TRAFFIK_DIFF_EXAMPLES", "60"))
"""Examples per strategy; raise it for a deeper run (600 each passed when the scripts were written)."""

_rates = st.builds(
    lambda limit, expire: Rate(limit=limit, milliseconds=expire),
    limit=st.integers(min_value=1, max_value=20),
    expire=st.sampled_from([1, 3, 100, 1_000, 60_000, 3_600_000]) | st.integers(min_value=1, max_value=100_000),
)
_starts = st.sampled_from([0.0, 1_700_000_000_000.0]) | st.floats(min_value=0, max_value=2e12)


@st.composite
def _events(draw: st.DrawFn, rate: Rate) -> list[tuple[float, int, bool]]:
    """(time advance in ms, cost, is_peek) triples, at scales around the rate's window."""
    delta = (
        st.just(0.0)
        | st.integers(min_value=0, max_value=2 * rate.expire).map(float)
        | st.floats(min_value=0, max_value=2.0 * rate.expire, allow_nan=False)
        | st.floats(min_value=0, max_value=max(1.0, rate.expire / rate.limit), allow_nan=False)
    )
    cost = st.integers(min_value=0, max_value=rate.limit + 2) | st.just(1)
    event = st.tuples(delta, cost, st.booleans().map(lambda b: b and draw(st.booleans())))
    return draw(st.lists(event, min_size=1, max_size=40))


def _stored(raw: bytes | str | None) -> State | None:
    assert not isinstance(raw, str)
    return None if raw is None else struct.unpack(f"<{len(raw) // 8}d", raw)


async def _replay(
    backend: RedisBackend,
    raw_redis: Redis,
    strategy: ThrottleStrategy,
    clock: ManualClock,
    events: list[tuple[float, int, bool, Rate]],
) -> None:
    """Run (advance, cost, is_peek, rate) events on a fresh key and on the pure step: same decisions, same bytes."""
    key = f"seq-{next(_keys)}"
    state_key = KeyLayout(backend.namespace).state_key(key, strategy.NAME)
    reference: State | None = None
    for step, (delta, cost, is_peek, rate) in enumerate(events):
        clock.advance(delta)
        now = clock()
        if is_peek:
            expected = strategy.peek(reference, now, cost, rate)
            got = await backend.peek(key, strategy, rate, cost)
        else:
            reference, expected = strategy.step(reference, now, cost, rate)
            got = await backend.hit(key, strategy, rate, cost)
        context = f"event {step} at {now!r} (cost {cost}, {'peek' if is_peek else 'hit'}, {rate})"
        assert got == expected, context
        stored = _stored(await raw_redis.get(state_key))
        assert stored == (None if reference is None else tuple(map(float, reference))), context


@pytest.mark.parametrize("name", sorted(INSTANCES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_lua_agrees_with_the_reference_step(
    name: str, data: Any, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    strategy: ThrottleStrategy = data.draw(INSTANCES[name], label="strategy")
    rate: Rate = data.draw(_rates, label="rate")
    clock = ManualClock(data.draw(_starts, label="start"))
    events = data.draw(_events(rate), label="events")
    # A long margin: Redis expires keys in real time, which here runs faster than the clock.
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    await _replay(backend, raw_redis, strategy, clock, [(*event, rate) for event in events])


@pytest.mark.parametrize("name", sorted(INSTANCES))
@settings(
    max_examples=max(1, EXAMPLES // 2),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_lua_agrees_when_the_rate_changes_between_hits(
    name: str, data: Any, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    # A deployment may change a rule's rate: the stored state then meets a rate it was not built with.
    strategy: ThrottleStrategy = data.draw(INSTANCES[name], label="strategy")
    rates: list[Rate] = data.draw(st.lists(_rates, min_size=2, max_size=2), label="rates")
    clock = ManualClock(data.draw(_starts, label="start"))
    events = data.draw(_events(min(rates, key=lambda rate: rate.expire)), label="events")
    switches = data.draw(st.lists(st.sampled_from(rates), min_size=len(events), max_size=len(events)), label="rate")
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    await _replay(
        backend, raw_redis, strategy, clock, [(*event, rate) for event, rate in zip(events, switches, strict=True)]
    )


async def test_a_log_too_long_for_one_unpack_call(make_backend: BackendFactory, raw_redis: Redis) -> None:
    # Lua gives a call fewer than 8000 results: the script reads such a log in chunks.
    strategy = SlidingWindowLog()
    rate = Rate(limit=10_000, seconds=10)
    start = 1_700_000_000_000.0
    # 4_600 entries of cost 2, one per ms (9_201 doubles: two full chunks and a partial one); the oldest
    # expire one by one from start + 1_000 on.
    entries = itertools.chain.from_iterable((start - 9_000 + i, 2.0) for i in range(4_600))
    reference: State = (start + 5_599, *entries)
    clock = ManualClock(start + 1_000.5)
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    state_key = KeyLayout("differential").state_key("long", strategy.NAME)
    await raw_redis.set(state_key, struct.pack(f"<{len(reference)}d", *reference))
    # Admitted, admitted at the same time (merged), admitted, denied (waits for old entries), admitted.
    for cost, advance in ((1, 0.0), (1, 0.5), (600, 0.5), (1_000, 0.5), (1, 0.5)):
        now = clock()
        assert await backend.peek("long", strategy, rate, cost) == strategy.peek(reference, now, cost, rate)
        new_state, expected = strategy.step(reference, now, cost, rate)
        assert await backend.hit("long", strategy, rate, cost) == expected, f"cost {cost} at {now!r}"
        assert new_state is not None
        reference = new_state
        assert _stored(await raw_redis.get(state_key)) == tuple(map(float, reference)), f"cost {cost} at {now!r}"
        clock.advance(advance)
