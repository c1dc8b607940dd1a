"""Every native strategy against the pure reference step, on random (time, cost) sequences.

Each example replays one random sequence of hits and peeks through the Redis
backend (time driven by a :class:`~traffik.clock.ManualClock` sent to the
scripts, or read by FixedWindow's counter) and through the strategy's pure
``step``/``peek``. Decisions must be equal (allowed, wait, hits remaining,
metadata) and, after every event, the state stored in Redis (packed doubles;
for FixedWindow the count under the current window's key, read as at most the
limit) must be the reference state, bit for bit.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog
from traffik.strategies._base import State, ThrottleStrategy

from tests.redis.conftest import BackendFactory
from tests.redis.strategies import INSTANCES, state_key_of, window_key_of

pytestmark = pytest.mark.redis

_keys = itertools.count()
EXAMPLES = int(os.environ.get("TRAFFIK_DIFF_EXAMPLES", "60"))
"""Examples per strategy; raise it for a deeper run (600 each passed when the scripts were written)."""
LOG_HEAD = "<dddd"
"""The sliding log's head: its last admitted hit's window, the base of its running totals, a copy of S_1, M_1."""

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


def _log_state(items: list[bytes]) -> State | None:
    """The pure step's ``(expires_at, t1, c1, ...)`` from the script's list of running totals.

    The head is ``(expire, base, S_1, M_1)``: ``expires_at`` is the newest entry's time plus that
    window; S_1, M_1 a copy of the oldest entry's.
    """
    if not items:
        return None
    expire, base, *oldest = struct.unpack(LOG_HEAD, items[0])
    assert oldest == list(struct.unpack("<ddd", items[1])[1:]), "the head's copy of S_1, M_1 is stale"
    expires_at = struct.unpack("<ddd", items[-1])[0] + expire
    state: list[float] = [expires_at]
    previous = base
    for item in items[1:]:
        t, total, _ = struct.unpack("<ddd", item)
        state += [t, total - previous]
        previous = total
    return tuple(state)


async def stored_state(raw_redis: Redis, state_key: str, strategy: ThrottleStrategy) -> State | None:
    """The state the script keeps for ``strategy``: a log is a list; every other state packed doubles."""
    if strategy.NAME == SlidingWindowLog.NAME:
        items: list[bytes] = await raw_redis.lrange(state_key, 0, -1)  # type: ignore[assignment]
        return _log_state(items)
    return _stored(await raw_redis.get(state_key))


async def _replay(
    backend: RedisBackend,
    raw_redis: Redis,
    strategy: ThrottleStrategy,
    clock: ManualClock,
    events: list[tuple[float, int, bool, Rate]],
) -> None:
    """Run (advance, cost, is_peek, rate) events on a fresh key and on the pure step: same decisions, same bytes."""
    key = f"seq-{next(_keys)}"
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
        if strategy.NAME == FixedWindow.NAME:
            # The count under the key of now's window, read as "full" past the limit; the
            # reference's state counts only while its window has not ended.
            live = None if reference is None or reference[0] <= now else reference
            stored = await _window_count(raw_redis, backend.namespace, key, now, rate)
        else:
            live = reference
            stored = await stored_state(raw_redis, state_key_of(backend.namespace, key, strategy), strategy)
        assert stored == (None if live is None else tuple(map(float, live))), context


async def _window_count(raw_redis: Redis, namespace: str, key: str, now: float, rate: Rate) -> State | None:
    """FixedWindow's state in the window of ``rate`` holding ``now``: (its end, the count read as at most the limit)."""
    raw = await raw_redis.get(window_key_of(namespace, key, now, rate))
    if raw is None:
        return None
    return ((now // rate.expire + 1) * rate.expire, float(min(int(raw), rate.limit)))


@pytest.mark.parametrize("name", sorted(INSTANCES))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_native_agrees_with_the_reference_step(
    name: str, data: Any, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    strategy: ThrottleStrategy = data.draw(INSTANCES[name], label="strategy")
    rate: Rate = data.draw(_rates, label="rate")
    clock = ManualClock(data.draw(_starts, label="start"))
    events = data.draw(_events(rate), label="events")
    # A long margin: Redis expires keys in real time, which here runs faster than the clock.
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    await _replay(backend, raw_redis, strategy, clock, [(*event, rate) for event in events])


@pytest.mark.parametrize("name", sorted(set(INSTANCES) - {FixedWindow.NAME}))  # FixedWindow: see below
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


_same_or_other_duration = st.booleans()


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
async def test_fixed_window_counts_per_window_end_when_the_rate_changes(
    data: Any, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    # FixedWindow keeps a counter per window end: a rate whose window ends elsewhere counts in
    # its own window, where the pure step would carry the running window over. So the
    # reference is the pure step applied per window end (on the count of that window):
    # identical to one pure step when the rates share their duration and limit. Where a
    # window is shared by rates of different limits, a denial that finds it full under the
    # lower limit leaves its cost in the count (the documented "full" reading), so a hit
    # under the higher limit may be denied where the pure step admits it, never the reverse.
    # Only a hit of cost 0 may pass where the pure step would refuse it: see below.
    strategy = FixedWindow()
    first: Rate = data.draw(_rates, label="first rate")
    if data.draw(_same_or_other_duration, label="same duration"):
        limit = data.draw(st.integers(min_value=1, max_value=20), label="second limit")
        second = Rate(limit=limit, milliseconds=first.expire)
    else:
        second = data.draw(_rates, label="second rate")
    rates = [first, second]
    clock = ManualClock(data.draw(_starts, label="start"))
    events = data.draw(_events(min(rates, key=lambda rate: rate.expire)), label="events")
    switches = data.draw(st.lists(st.sampled_from(rates), min_size=len(events), max_size=len(events)), label="rate")
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    key = f"seq-{next(_keys)}"
    admitted: dict[float, int] = {}  # the pure step's count, per window end
    counted: dict[float, int] = {}  # what the counter of that window holds
    limits: dict[float, set[int]] = {}  # the limits that hit each window
    for step, ((delta, cost, is_peek), rate) in enumerate(zip(events, switches, strict=True)):
        clock.advance(delta)
        now = clock()
        window_end = (now // rate.expire + 1) * rate.expire
        limits.setdefault(window_end, set()).add(rate.limit)
        pure_state = None if window_end not in admitted else (window_end, admitted[window_end])
        pure = strategy.peek(pure_state, now, cost, rate)
        count = counted.get(window_end)
        documented = strategy.peek(None if count is None else (window_end, min(count, rate.limit)), now, cost, rate)
        got = await (backend.peek if is_peek else backend.hit)(key, strategy, rate, cost)
        context = f"event {step} at {now!r} (cost {cost}, {'peek' if is_peek else 'hit'}, {rate})"
        assert got == documented, context
        # Never admits a cost the pure step refuses. (A cost of 0 passes where a lowered limit left
        # the count above it: the count reads as at most the limit, where the pure step goes negative.)
        assert not (got.allowed and cost) or pure.allowed, context
        if len(limits[window_end]) == 1:
            assert got == pure, context  # one limit per window: the pure step per window end, exactly
        if not is_peek and 0 < cost <= rate.limit:
            if got.allowed:
                admitted[window_end] = admitted.get(window_end, 0) + cost
                counted[window_end] = counted.get(window_end, 0) + cost
            elif counted.get(window_end, 0) >= rate.limit:  # full: the denial leaves its cost
                counted[window_end] += cost
        raw = await raw_redis.get(window_key_of(backend.namespace, key, now, rate))
        assert (None if raw is None else int(raw)) == counted.get(window_end), context


async def _seed_log(raw_redis: Redis, state_key: str, state: State, base: float = 0.0) -> None:
    """Store a pure-step log state the way the script keeps it, running totals starting at ``base``."""
    entries = []
    total, newest = base, -math.inf
    for t, cost in zip(state[1::2], state[2::2], strict=True):
        total, newest = total + cost, max(newest, t)
        entries.append((t, total, newest))
    expire = state[0] - entries[-1][0]  # the window of the newest entry's hit
    assert entries[-1][0] + expire == state[0], "not a state a hit could have written"
    items = [struct.pack(LOG_HEAD, expire, base, *entries[0][1:])]
    items += [struct.pack("<ddd", *entry) for entry in entries]
    await raw_redis.delete(state_key)
    for start in range(0, len(items), 1_000):
        await raw_redis.rpush(state_key, *items[start : start + 1_000])
    await raw_redis.pexpire(state_key, 3_600_000)


async def _replay_log(
    backend: RedisBackend,
    raw_redis: Redis,
    key: str,
    reference: State,
    clock: ManualClock,
    events: list[tuple[float, int, Rate]],
) -> None:
    """Peek then hit with each (advance, cost, rate) on a seeded log: same decisions and state as the pure step."""
    strategy = SlidingWindowLog()
    state_key = state_key_of(backend.namespace, key, strategy)
    for step, (advance, cost, rate) in enumerate(events):
        clock.advance(advance)
        now = clock()
        context = f"event {step}: cost {cost} at {now!r} ({rate})"
        assert await backend.peek(key, strategy, rate, cost) == strategy.peek(reference, now, cost, rate), context
        new_state, expected = strategy.step(reference, now, cost, rate)
        assert await backend.hit(key, strategy, rate, cost) == expected, context
        assert new_state is not None
        reference = new_state
        assert await stored_state(raw_redis, state_key, strategy) == tuple(map(float, reference)), context


async def test_a_long_log_through_rate_changes(make_backend: BackendFactory, raw_redis: Redis) -> None:
    # 5,000 entries of cost 2, one per ms, the oldest expiring from start + 1_000 on under the
    # 10 s window; the rate then shrinks (many entries expire at once, then waits walk far into
    # the log) and grows back (entries skipped but never dropped count again).
    start = 1_700_000_000_000.0
    entries = itertools.chain.from_iterable((start - 9_000 + i, 2.0) for i in range(5_000))
    reference: State = (start - 4_001 + 10_000, *entries)
    clock = ManualClock(start + 1_000.5)
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    state_key = state_key_of("differential", "long", SlidingWindowLog())
    await _seed_log(raw_redis, state_key, reference)
    wide, narrow, tight = Rate(limit=10_000, seconds=10), Rate(limit=10_000, seconds=6), Rate(limit=4_000, seconds=10)
    events = [
        (0.0, 1, wide),  # admitted
        (0.0, 1, wide),  # admitted at the same time: merged into the newest entry
        (0.5, 600, wide),
        (0.5, 1_000, wide),  # denied: waits for hundreds of the oldest entries
        (0.0, 3_000, narrow),  # denied (only the window changed): no write
        (0.0, 10_001, wide),  # can never pass
        (0.0, 0, tight),  # over a limit lowered below what is logged: remaining is negative
        (0.5, 1, narrow),  # admitted under the shorter window: 1,000s of entries dropped at once
        (0.5, 1, wide),
        (2_500.0, 1_700, tight),
        (7_000.0, 9_999, wide),  # every entry expired: a fresh log
    ]
    await _replay_log(backend, raw_redis, "long", reference, clock, events)


async def test_the_running_total_restarts_before_it_leaves_the_exact_range(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    # Totals are stored as doubles, exact up to 2**53: a log whose totals started near it
    # restarts them from 0 before an admitted hit would push them past it.
    start = 1_700_000_000_000.0
    reference: State = (start + 1_000.0, start - 50.0, 3.0, start - 10.0, 4.0, start, 5.0)
    clock = ManualClock(start + 0.5)
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    state_key = state_key_of("differential", "totals", SlidingWindowLog())
    await _seed_log(raw_redis, state_key, reference, base=float(2**53 - 20))
    rate = Rate(limit=100, seconds=1)
    events = [(0.0, 1, rate), (0.0, 7, rate), (10.0, 2, rate), (0.0, 90, rate), (945.0, 80, rate), (1.0, 2, rate)]
    await _replay_log(backend, raw_redis, "totals", reference, clock, events)
    items: list[bytes] = await raw_redis.lrange(state_key, 0, -1)  # type: ignore[assignment]
    assert struct.unpack("<ddd", items[-1])[1] < 2**10  # restarted


@pytest.mark.parametrize("seed", range(3))
async def test_a_log_agrees_when_clocks_disagree(make_backend: BackendFactory, raw_redis: Redis, seed: int) -> None:
    # Instances whose clocks differ send times that go back and forth: the log then holds
    # entries out of order, which the pure step keeps as they came.
    draw = random.Random(seed)
    start = 1_700_000_000_000.0
    clock = ManualClock(start)
    backend = make_backend(namespace="differential", clock=clock, clock_margin_ms=600_000)
    strategy = SlidingWindowLog()
    state_key = state_key_of("differential", f"skew-{seed}", strategy)
    rates = [Rate(limit=8, milliseconds=100), Rate(limit=5, milliseconds=40)]
    reference: State | None = None
    for step in range(300):
        clock.set(clock() + draw.choice([0.0, 1.0, 7.5, -3.0, -20.0, 25.0, 60.0]))  # set: it may go back
        now, cost, rate = clock(), draw.choice([0, 1, 1, 2, 3, 9]), draw.choice(rates)
        context = f"event {step}: cost {cost} at {now!r} ({rate})"
        if draw.random() < 0.2:
            assert await backend.peek(f"skew-{seed}", strategy, rate, cost) == strategy.peek(
                reference, now, cost, rate
            ), context
            continue
        reference, expected = strategy.step(reference, now, cost, rate)
        assert await backend.hit(f"skew-{seed}", strategy, rate, cost) == expected, context
        stored = await stored_state(raw_redis, state_key, strategy)
        assert stored == (None if reference is None else tuple(map(float, reference))), context
