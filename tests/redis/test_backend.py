"""RedisBackend on a real redis-server: construction, round trips, keys, TTLs, time, clearing, clients."""

from __future__ import annotations

import re
import struct
from typing import Any

import pytest
from redis.asyncio import Redis
from traffik.backends import backend_from_url
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._keys import KeyLayout
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.rates import Rate
from traffik.strategies import GCRA, FixedWindow, LeakyBucketWithQueue, SlidingWindowLog, TokenBucket
from traffik.strategies._base import UNLIMITED_DECISION, ThrottleStrategy
from traffik.testing import RedisServer

from tests.redis.conftest import BackendFactory, unique_namespace
from tests.redis.strategies import DEFAULTS, state_key_of, window_pattern_of
from tests.wire import recorded_writes, redis_commands

pytestmark = pytest.mark.redis

RATE = Rate.parse("5/s")


def _sent(writes: list[bytes]) -> list[list[str]]:
    """The command names in each write to a socket (one write, one round trip)."""
    return [[command[0].decode() for command in redis_commands(data)] for data in writes]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- construction ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"url": "http://localhost:6379"}, "url"),
        ({"url": 6379}, "url"),
        ({"url": "redis://localhost:6379", "namespace": ""}, "namespace"),
        ({"url": "redis://localhost:6379", "on_error": "ignore"}, "on_error"),
        ({"url": "redis://localhost:6379", "lock_ttl": -1}, "lock_ttl"),
        ({"url": "redis://localhost:6379", "socket_timeout": 0}, "socket_timeout"),
        ({"url": "redis://localhost:6379", "connect_timeout": "1"}, "connect_timeout"),
        ({"url": "redis://localhost:6379", "clock_margin_ms": -5}, "clock_margin_ms"),
        ({"url": "redis://localhost:6379", "cluster": "yes"}, "cluster"),
        ({"url": "unix:///tmp/redis.sock", "cluster": True}, "cluster"),
    ],
)
def test_invalid_configuration_names_the_parameter(options: dict[str, Any], named: str) -> None:
    url = options.pop("url")
    with pytest.raises(ConfigurationError, match=named):
        RedisBackend(url, **options)


def test_defaults_follow_the_reference() -> None:
    backend = RedisBackend("redis://localhost:6379/0")
    assert (backend.namespace, backend.persistent, backend.on_error) == ("redis", False, "throttle")
    assert (backend.identifier, backend.handle_throttled) == (None, None)
    assert (backend.lock_blocking, backend.lock_ttl, backend.lock_blocking_timeout) == (None, None, None)
    assert (backend.socket_timeout, backend.connect_timeout) == (0.5, 0.5)
    assert RedisBackend.NAME == "redis"
    assert RedisBackend.URL_SCHEMES[:3] == ("redis", "rediss", "unix")


def test_repr_hides_the_password() -> None:
    text = repr(RedisBackend("redis://user:s3cret@localhost:6379/0"))
    assert "s3cret" not in text
    assert "localhost:6379" in text


def test_backend_from_url_builds_a_redis_backend(redis_server: RedisServer) -> None:
    backend = backend_from_url(f"{redis_server.url}/0", namespace="from-url", persistent=True)
    assert isinstance(backend, RedisBackend)
    assert (backend.namespace, backend.persistent) == ("from-url", True)


async def test_backend_from_url_works_against_the_server(redis_server: RedisServer) -> None:
    backend = backend_from_url(f"redis://127.0.0.1:{redis_server.port}/0", namespace=unique_namespace())
    assert isinstance(backend, RedisBackend)
    try:
        assert (await backend.hit("k", FixedWindow(), Rate.parse("1/min"))).allowed
        assert not (await backend.hit("k", FixedWindow(), Rate.parse("1/min"))).allowed
    finally:
        await backend.clear()
        await backend.close()


# -- one round trip -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_hit_and_peek_are_one_round_trip_each(name: str, redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    backend = RedisBackend(client, namespace=unique_namespace())
    strategy = DEFAULTS[name]
    try:
        await backend.hit("warm", strategy, RATE)  # loads the script (EVAL after NOSCRIPT at most once)
        with recorded_writes() as writes:
            for _ in range(7):  # past the limit: denials are one round trip too
                await backend.hit("k", strategy, RATE)
            for _ in range(3):
                await backend.peek("k", strategy, RATE)
        if name == FixedWindow.NAME:  # no script: a counter per window (never a DECRBY for cost 1 here)
            assert _sent(writes) == [["SET", "INCRBY"]] * 7 + [["GET"]] * 3
        else:
            assert _sent(writes) == [["EVALSHA"]] * 10
    finally:
        await backend.clear()
        await client.aclose()


async def test_unlimited_rate_makes_no_call(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    backend = RedisBackend(client, namespace=unique_namespace())
    with recorded_writes() as writes:
        assert await backend.hit("k", FixedWindow(), Rate()) is UNLIMITED_DECISION
        assert await backend.peek("k", FixedWindow(), Rate()) is UNLIMITED_DECISION
    assert writes == []
    await client.aclose()


async def test_script_flushed_from_the_server_is_reloaded(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(0.0))
    rate = Rate.parse("2/min")
    assert (await backend.hit("k", SlidingWindowLog(), rate)).allowed
    await raw_redis.script_flush()
    assert (await backend.hit("k", SlidingWindowLog(), rate)).hits_remaining == 0
    assert not (await backend.hit("k", SlidingWindowLog(), rate)).allowed


# -- decisions ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_peek_consumes_nothing(name: str, make_backend: BackendFactory) -> None:
    backend = make_backend(clock=ManualClock(1_000.0))
    strategy = DEFAULTS[name]
    before = await backend.peek("k", strategy, RATE)
    again = await backend.peek("k", strategy, RATE)
    assert before == again
    assert before.allowed


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_limit_is_enforced_then_restored(name: str, make_backend: BackendFactory) -> None:
    clock = ManualClock(1_000_000.0)
    backend = make_backend(clock=clock)
    strategy = DEFAULTS[name]
    rate = Rate.parse("3/s")
    admitted = 0
    denied = None
    for _ in range(20):
        decision = await backend.hit("k", strategy, rate)
        if decision.allowed:
            admitted += 1
        else:
            denied = decision
            break
    assert denied is not None
    assert denied.wait_ms > 0
    assert admitted <= 3 + strategy.params().get("max_debt", 0) + 1  # GCRA's tolerance allows one extra
    clock.advance(denied.wait_ms)
    assert (await backend.hit("k", strategy, rate)).allowed


async def test_queue_delay_metadata_comes_back(make_backend: BackendFactory) -> None:
    backend = make_backend(clock=ManualClock(0.0))
    rate = Rate.parse("4/s")
    await backend.hit("k", LeakyBucketWithQueue(), rate)
    decision = await backend.hit("k", LeakyBucketWithQueue(), rate)
    assert decision.metadata == {"queue_delay_ms": 250.0}


async def test_negative_cost_is_rejected(make_backend: BackendFactory) -> None:
    backend = make_backend()
    with pytest.raises(ValueError, match="-1"):
        await backend.hit("k", FixedWindow(), RATE, cost=-1)


# -- time -------------------------------------------------------------------------


async def test_server_time_is_used_without_a_clock(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend()
    rate = Rate.parse("1/hour")
    await backend.hit("k", GCRA(), rate)
    seconds, micros = await raw_redis.time()
    server_now = seconds * 1000 + micros / 1000
    raw = await raw_redis.get(KeyLayout(backend.namespace).state_key("k", "gcra"))
    assert raw is not None
    assert isinstance(raw, bytes)
    (tat, _) = struct.unpack("<dd", raw)
    # tat = the server's time at the hit + one hour: it tells which clock the script read.
    assert server_now - 5_000 < tat - 3_600_000 <= server_now


async def test_a_given_clock_is_sent_to_the_script(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(42_000.0))
    # A minute, not a second: the key's TTL runs on the server's own clock.
    await backend.hit("k", GCRA(), Rate.parse("1/min"))
    raw = await raw_redis.get(KeyLayout(backend.namespace).state_key("k", "gcra"))
    assert raw == struct.pack("<dd", 102_000.0, 102_000.0)  # (tat, tat) as packed doubles


# -- keys and TTLs ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DEFAULTS))
async def test_every_key_gets_a_ttl_in_milliseconds_never_zero(
    name: str, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    strategy = DEFAULTS[name]
    backend = make_backend()
    for rate in (Rate.parse("1/s"), Rate.parse("100/day")):
        await backend.hit(f"k-{rate.expire}", strategy, rate, cost=1)
        if strategy.NAME == FixedWindow.NAME:  # a key per window, named by the window's end on the wall clock
            (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, f"k-{rate.expire}"))
        else:
            key = state_key_of(backend.namespace, f"k-{rate.expire}", strategy)
        ttl = await raw_redis.pttl(key)
        # Set (-1 would be persistent), in ms, and no longer than the state (and the margin) can last.
        assert 0 < ttl <= 2 * rate.expire


async def test_ttl_covers_the_state_and_the_clock_margin(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(0.25), clock_margin_ms=10_000)
    await backend.hit("k", TokenBucket(), Rate.parse("1/min"))  # full again in 60 s
    ttl = await raw_redis.pttl(KeyLayout(backend.namespace).state_key("k", "token-bucket"))
    assert 69_000 < ttl <= 70_000


async def test_namespaces_never_touch_each_other(make_backend: BackendFactory) -> None:
    rate = Rate.parse("1/min")
    clock = ManualClock(0.0)
    first = make_backend(namespace=unique_namespace("a"), clock=clock)
    colon = make_backend(namespace=first.namespace + ":b", clock=clock)
    assert (await first.hit("b:k", FixedWindow(), rate)).allowed
    assert (await colon.hit("k", FixedWindow(), rate)).allowed  # same text once joined, distinct keys
    await first.clear()
    assert not (await colon.hit("k", FixedWindow(), rate)).allowed  # clearing `first` left `colon` alone
    assert (await first.hit("b:k", FixedWindow(), rate)).allowed


async def test_keys_carry_a_hash_tag_and_the_strategy(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(namespace=unique_namespace("tag{x}"))
    await backend.hit("user:1", FixedWindow(), RATE)
    await backend.hit("user:1", GCRA(), RATE)
    keys = sorted(_text(key) for key in await raw_redis.keys(f"{backend.namespace.split('{')[0]}*"))
    prefix = backend.namespace.replace("{", "\\(").replace("}", "\\)")
    # FixedWindow's key ends with its window's end, in whole ms: a counter per window.
    assert len(keys) == 2
    assert re.fullmatch(rf"{re.escape(prefix)}:\{{user:1\}}:fixed-window:\d+", keys[0]), keys
    assert keys[1] == f"{prefix}:{{user:1}}:gcra"


async def test_clear_deletes_only_this_namespace(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend()
    other = make_backend()
    # An hour-long window: on a loaded machine the 1,200 hits and the clear can outlast
    # a one-second window, and the other namespace's key would expire on its own.
    hourly = Rate.parse("5/h")
    await raw_redis.set("unrelated", "1")
    for index in range(1_200):  # more than one SCAN page and one UNLINK batch
        await backend.hit(f"k{index}", FixedWindow(), hourly)
    await other.hit("k", FixedWindow(), hourly)
    await backend.clear()
    assert await raw_redis.keys(KeyLayout(backend.namespace).scan_pattern) == []
    assert len(await raw_redis.keys(KeyLayout(other.namespace).scan_pattern)) == 1
    assert await raw_redis.get("unrelated") == b"1"
    await raw_redis.delete("unrelated")


async def test_a_corrupt_state_counts_as_no_state(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend(clock=ManualClock(0.0))
    key = state_key_of(backend.namespace, "k", GCRA())
    await raw_redis.set(key, "not,a,state")
    assert (await backend.hit("k", GCRA(), Rate.parse("2/s"))).allowed


async def test_a_fixed_window_state_of_earlier_layouts_is_never_read(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    # Earlier versions kept (window_end, count) as packed doubles under the bare NAME, then a
    # hash under ":windows"; the counter per window lives under other keys: a one-off reset.
    backend = make_backend(clock=ManualClock(500.0))
    layout = KeyLayout(backend.namespace)
    packed, hashed = layout.state_key("k", FixedWindow.NAME), layout.state_key("k", "fixed-window:windows")
    await raw_redis.set(packed, struct.pack("<dd", 1_000.0, 2.0), px=3_600_000)  # the window is full
    await raw_redis.hset(hashed, "1000", "2")
    decision = await backend.hit("k", FixedWindow(), Rate.parse("2/s"))
    assert (decision.allowed, decision.hits_remaining) == (True, 1)
    assert await raw_redis.get(packed) == struct.pack("<dd", 1_000.0, 2.0)  # left to expire, untouched
    assert await raw_redis.hgetall(hashed) == {b"1000": b"2"}
    await raw_redis.delete(hashed)


@pytest.mark.parametrize("clock", [None, ManualClock(1_700_000_000_250.0)], ids=["wall-clock", "given-clock"])
async def test_a_denied_fixed_window_hit_gives_back_its_cost_while_the_window_has_room(
    clock: ManualClock | None, make_backend: BackendFactory, raw_redis: Redis
) -> None:
    backend = make_backend(clock=clock)
    rate = Rate.parse("3/h")  # an hour: the window cannot end during the test
    assert (await backend.hit("k", FixedWindow(), rate, cost=2)).allowed
    (key,) = await raw_redis.keys(window_pattern_of(backend.namespace, "k"))
    decision = await backend.hit("k", FixedWindow(), rate, cost=2)  # no room for 2: given back
    assert (decision.allowed, decision.hits_remaining) == (False, 1)
    assert 0 < decision.wait_ms <= 3_600_000
    assert await raw_redis.get(key) == b"2"
    decision = await backend.hit("k", FixedWindow(), rate, cost=4)  # over the limit: never counted
    assert (decision.allowed, decision.hits_remaining) == (False, 1)
    assert await raw_redis.get(key) == b"2"
    assert (await backend.hit("k", FixedWindow(), rate)).allowed  # the room a smaller hit can still use
    # Full: a denied hit leaves its increment, and the window reads as full.
    for _ in range(3):
        decision = await backend.hit("k", FixedWindow(), rate)
        assert (decision.allowed, decision.hits_remaining) == (False, 0)
    assert await raw_redis.get(key) == b"6"
    peeked = await backend.peek("k", FixedWindow(), rate, cost=0)
    assert (peeked.allowed, peeked.hits_remaining) == (True, 0)


async def test_a_fixed_window_counts_in_the_window_of_its_own_rate(make_backend: BackendFactory) -> None:
    # The window's end is in the key: a rate of another duration counts in its own window.
    clock = ManualClock(1_000.0)
    backend = make_backend(clock=clock, clock_margin_ms=600_000)
    hourly, per_minute, other_limit = Rate.parse("3/h"), Rate.parse("3/min"), Rate.parse("5/min")
    assert (await backend.hit("k", FixedWindow(), hourly, cost=3)).allowed  # window [0, 3_600_000): full
    clock.advance(120_000.0)  # the per-minute window [120_000, 180_000) is a key of its own
    decision = await backend.hit("k", FixedWindow(), per_minute, cost=2)
    assert (decision.allowed, decision.hits_remaining, decision.reset_ms) == (True, 1, 59_000.0)
    decision = await backend.hit("k", FixedWindow(), other_limit)  # same duration: same window, same count
    assert (decision.allowed, decision.hits_remaining) == (True, 2)
    assert not (await backend.hit("k", FixedWindow(), hourly)).allowed  # the hour's window is still full


@pytest.mark.parametrize("clock", [None, ManualClock(1_700_000_000_250.0)], ids=["wall-clock", "given-clock"])
async def test_an_admitted_fixed_window_hit_reports_its_quota_and_reset(
    clock: ManualClock | None, make_backend: BackendFactory
) -> None:
    backend = make_backend(clock=clock)
    rate = Rate.parse("1000000/h")  # an hour: the window cannot end during the test
    first = await backend.hit("k", FixedWindow(), rate, cost=3)
    second = await backend.hit("k", FixedWindow(), rate, cost=2)
    assert (first.allowed, first.wait_ms, first.hits_remaining) == (True, 0.0, 999_997)
    assert (second.allowed, second.wait_ms, second.hits_remaining) == (True, 0.0, 999_995)
    assert 0 < second.reset_ms <= first.reset_ms <= 3_600_000
    if clock is not None:
        assert second.reset_ms == 3_600_000 - 800_250.0  # 1_700_000_000_250 is 800,250 ms into its hour


async def test_a_fixed_window_key_names_its_end_and_lives_a_margin_past_it(
    make_backend: BackendFactory, raw_redis: Redis
) -> None:
    clock = ManualClock(1_000.25)
    backend = make_backend(clock=clock, clock_margin_ms=3_600_000)  # TTLs run in real time: keep them long
    rate = Rate.parse("3/min")
    await backend.hit("k", FixedWindow(), rate, cost=2)
    first = KeyLayout(backend.namespace).window_key("k", 60_000)
    assert await raw_redis.get(first) == b"2"
    assert 3_600_000 + 58_000 < await raw_redis.pttl(first) <= 3_600_000 + 59_000  # ceil(58_999.75) + margin
    clock.advance(60_000.0)
    decision = await backend.hit("k", FixedWindow(), rate)
    assert (decision.allowed, decision.hits_remaining, decision.reset_ms) == (True, 2, 58_999.75)
    assert await raw_redis.get(KeyLayout(backend.namespace).window_key("k", 120_000)) == b"1"
    assert await raw_redis.get(first) == b"2"  # the ended window's key expires on its own


@pytest.mark.parametrize("junk", ["hash", "not-a-count", "huge"])
async def test_a_damaged_fixed_window_counter_starts_the_window_afresh(
    junk: str, make_backend: BackendFactory, raw_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    backend = make_backend(clock=ManualClock(1_000.0), clock_margin_ms=3_600_000)
    rate = Rate.parse("3/min")
    key = KeyLayout(backend.namespace).window_key("k", 60_000)
    if junk == "hash":
        await raw_redis.hset(key, mapping={"e": "60000", "c": "2"})
    elif junk == "not-a-count":
        await raw_redis.set(key, "many")
    else:
        await raw_redis.set(key, str(2**63 - 1))  # INCRBY would overflow: a flood of denials left that
    peeked = await backend.peek("k", FixedWindow(), rate)
    decision = await backend.hit("k", FixedWindow(), rate)
    if junk == "huge":  # a counter, and a full one
        assert (peeked.hits_remaining, decision.allowed, decision.hits_remaining) == (0, False, 0)
        assert await raw_redis.get(key) == str(2**63 - 1).encode()
        return
    assert peeked.hits_remaining == 2  # not a counter: no state, and a peek writes nothing
    assert (decision.allowed, decision.hits_remaining) == (True, 2)
    assert "resetting an unreadable fixed-window counter" in caplog.text
    assert await raw_redis.get(key) == b"1"
    assert 3_600_000 < await raw_redis.pttl(key) <= 3_600_000 + 59_000
    assert (await backend.hit("k", FixedWindow(), rate)).hits_remaining == 1


# -- clients ----------------------------------------------------------------------


async def test_a_passed_client_stays_open_after_close(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url)
    backend = RedisBackend(client, namespace=unique_namespace())
    async with backend:
        await backend.hit("k", FixedWindow(), RATE)
    assert await client.ping()
    await client.aclose()


async def test_an_owned_pool_is_closed_and_reopened(redis_server: RedisServer) -> None:
    backend = RedisBackend(redis_server.url, namespace=unique_namespace())
    await backend.initialize()
    first = backend._client
    await backend.hit("k", FixedWindow(), RATE)
    await backend.close()
    assert backend._client is None
    assert (await backend.hit("k", FixedWindow(), RATE)).allowed  # reconnects lazily
    assert backend._client is not first
    await backend.clear()
    await backend.close()


async def test_a_decode_responses_client_works(redis_server: RedisServer) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    backend = RedisBackend(client, namespace=unique_namespace(), clock=ManualClock(0.0))
    try:
        assert (await backend.hit("k", LeakyBucketWithQueue(), RATE)).metadata == {"queue_delay_ms": 0.0}
        await backend.clear()
    finally:
        await client.aclose()


# -- strategies without Lua -------------------------------------------------------


class OneShot(ThrottleStrategy):
    """A third-party strategy with no Lua implementation: one hit per window."""

    NAME = "test-one-shot"

    def step(self, state: Any, now: float, cost: int, rate: Rate) -> Any:
        from traffik.strategies._base import Decision

        if state is None or state[0] <= now:
            return (now + rate.expire,), Decision(True, 0.0, 0)
        return state, Decision(False, state[0] - now, 0)


async def test_a_strategy_without_lua_uses_the_locked_fallback(make_backend: BackendFactory, raw_redis: Redis) -> None:
    clock = ManualClock(0.0)
    backend = make_backend(clock=clock, clock_margin_ms=0)
    rate = Rate.parse("1/min")  # the key's TTL runs on the server's clock: room for a slow machine
    assert (await backend.peek("k", OneShot(), rate)).allowed
    assert (await backend.hit("k", OneShot(), rate)).allowed
    denied = await backend.hit("k", OneShot(), rate)
    assert (denied.allowed, denied.wait_ms) == (False, 60_000.0)
    assert not (await backend.peek("k", OneShot(), rate)).allowed
    key = KeyLayout(backend.namespace).state_key("k", OneShot.NAME)
    assert 0 < await raw_redis.pttl(key) <= 60_000
    clock.advance(60_000)
    assert (await backend.hit("k", OneShot(), rate)).allowed
    # The lock is released: nothing but the state is left.
    assert await raw_redis.keys(KeyLayout(backend.namespace).lock_key("*")) == []
