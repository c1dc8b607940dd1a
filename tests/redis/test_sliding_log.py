"""The sliding log's list on Redis: which hits rewrite its head, and what it makes of lists it did not write.

The head, ``(expire, base, S_1, M_1)``, changes only when entries are dropped,
the window changes or a hit merges into the only entry; any other admitted hit
writes the newest entry alone. Decisions and states are checked against the
pure step in ``test_differential.py``; these tests pin the writes themselves.
"""

from __future__ import annotations

import struct

import pytest
from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import SlidingWindowLog

from tests.redis.conftest import BackendFactory
from tests.redis.strategies import state_key_of

pytestmark = pytest.mark.redis

START = 1_700_000_000_000.0
HOUR = Rate(limit=10, hours=1)
STRATEGY = SlidingWindowLog()


Log = tuple[ManualClock, RedisBackend, str]
"""A backend on a manual clock at ``START``, and the state key of its throttle key ``"k"``."""


@pytest.fixture
def log(make_backend: BackendFactory) -> Log:
    clock = ManualClock(START)
    backend = make_backend(clock=clock, clock_margin_ms=3_600_000)  # TTLs run in real time: keep them long
    return clock, backend, state_key_of(backend.namespace, "k", STRATEGY)


def _head(raw: bytes | str | None) -> tuple[float, ...]:
    """The head's (expire, base, S_1, M_1)."""
    assert isinstance(raw, bytes), raw
    assert len(raw) == 32, raw
    return struct.unpack("<dddd", raw)


async def test_a_hit_that_drops_nothing_writes_the_newest_entry_alone(log: Log, raw_redis: Redis) -> None:
    clock, backend, key = log
    assert (await backend.hit("k", STRATEGY, HOUR, cost=2)).allowed
    head = await raw_redis.lindex(key, 0)
    assert _head(head) == (3_600_000.0, 0.0, 2.0, START)
    for _ in range(3):
        clock.advance(1_000.0)
        assert (await backend.hit("k", STRATEGY, HOUR)).allowed
    assert (await backend.hit("k", STRATEGY, HOUR)).allowed  # merged into the newest entry
    assert await raw_redis.lindex(key, 0) == head
    assert await raw_redis.llen(key) == 5
    decision = await backend.hit("k", STRATEGY, HOUR, cost=5)  # 2 + 3 + 1 logged: 5 more is one too many
    assert (decision.allowed, decision.hits_remaining) == (False, 4)
    assert await raw_redis.lindex(key, 0) == head


async def test_the_head_is_rewritten_when_the_window_changes_or_entries_drop(log: Log, raw_redis: Redis) -> None:
    clock, backend, key = log
    half = Rate(limit=10, minutes=30)
    await backend.hit("k", STRATEGY, HOUR, cost=2)
    clock.advance(60_000.0)
    await backend.hit("k", STRATEGY, half, cost=3)
    assert _head(await raw_redis.lindex(key, 0)) == (1_800_000.0, 0.0, 2.0, START)
    clock.advance(1_740_001.0)  # the first entry has left the 30-minute window, the second not
    decision = await backend.hit("k", STRATEGY, half)
    assert (decision.allowed, decision.hits_remaining) == (True, 6)
    assert _head(await raw_redis.lindex(key, 0)) == (1_800_000.0, 2.0, 5.0, START + 60_000.0)
    assert await raw_redis.llen(key) == 3


async def test_a_hit_merged_into_the_only_entry_updates_the_head_s_copy(log: Log, raw_redis: Redis) -> None:
    _clock, backend, key = log
    await backend.hit("k", STRATEGY, HOUR, cost=2)
    await backend.hit("k", STRATEGY, HOUR, cost=3)  # the same instant: one entry of 5
    assert _head(await raw_redis.lindex(key, 0)) == (3_600_000.0, 0.0, 5.0, START)
    assert await raw_redis.lrange(key, 1, -1) == [struct.pack("<ddd", START, 5.0, START)]


async def test_a_log_at_the_earlier_release_s_key_is_left_to_it(log: Log, raw_redis: Redis) -> None:
    # traffik-redis 2.0 kept a 16-byte head, (expires_at, base), at a key without ":2". Its
    # instances, still running during a rolling deploy, keep counting there: this release
    # neither reads that log (it would read ours as no log, and reset it) nor touches it.
    _clock, backend, key = log
    earlier = KeyLayout(backend.namespace).state_key("k", STRATEGY.NAME)
    assert key == f"{earlier}:2"
    older = [
        struct.pack("<dd", START - 300_000.0 + 3_600_000.0, 100.0),
        struct.pack("<ddd", START - 600_000.0, 110.0, START - 600_000.0),
    ]
    await raw_redis.rpush(earlier, *older)
    await raw_redis.pexpire(earlier, 3_600_000)
    decision = await backend.hit("k", STRATEGY, HOUR, cost=3)
    assert (decision.allowed, decision.hits_remaining) == (True, 7)  # the whole quota: 2.0's 10 not seen
    assert await raw_redis.lrange(earlier, 0, -1) == older
    assert _head(await raw_redis.lindex(key, 0)) == (3_600_000.0, 0.0, 3.0, START)


async def test_a_head_alone_is_no_log_and_is_replaced(log: Log, raw_redis: Redis) -> None:
    _clock, backend, key = log
    await raw_redis.rpush(key, struct.pack("<dddd", 3_600_000.0, 0.0, 10.0, START))
    await raw_redis.pexpire(key, 3_600_000)
    assert (await backend.peek("k", STRATEGY, HOUR)).hits_remaining == 9  # the whole quota, less the peek's 1
    decision = await backend.hit("k", STRATEGY, HOUR, cost=3)
    assert (decision.allowed, decision.hits_remaining) == (True, 7)
    assert await raw_redis.lrange(key, 0, -1) == [
        struct.pack("<dddd", 3_600_000.0, 0.0, 3.0, START),
        struct.pack("<ddd", START, 3.0, START),
    ]
