"""Hits packed in advance are byte for byte what redis-py would send for the same arguments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection
from traffik.backends.redis._commands import ScriptCall, command
from traffik.backends.redis._scripts import GCRA, SLIDING_WINDOW_LOG, TOKEN_BUCKET
from traffik.rates import Rate
from traffik.strategies import GCRA as GCRAStrategy
from traffik.strategies import SlidingWindowLog, ThrottleStrategy, TokenBucket

REDIS_PY = Connection()  # only its packer is used: no socket is opened

CALLS = [
    ScriptCall(SlidingWindowLog(), SLIDING_WINDOW_LOG, "0"),
    ScriptCall(TokenBucket(burst_size=7), TOKEN_BUCKET, "1000"),
    ScriptCall(GCRAStrategy(burst_tolerance_ms=12.5), GCRA, "0"),
]


def _redis_py(*args: str | int | bytes) -> bytes:
    return b"".join(REDIS_PY.pack_command(*args))


@given(name=st.sampled_from([b"EVALSHA", b"EVAL", b"GET"]), args=st.lists(st.binary(max_size=64), max_size=12))
def test_command_packs_like_redis_py(name: bytes, args: list[bytes]) -> None:
    # (redis-py also splits a first argument with spaces, "CONFIG GET", into words: names here have none.)
    assert command(name, *args) == _redis_py(name, *args)


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.script.strategy)
@given(
    key=st.text(max_size=80),
    now=st.one_of(st.just(""), st.floats(min_value=0, max_value=2e12).map(repr)),
    cost=st.integers(min_value=0, max_value=10**6),
    limit=st.integers(min_value=1, max_value=10**9),
    seconds=st.integers(min_value=1, max_value=10**6),
    commit=st.booleans(),
)
def test_a_packed_hit_is_the_evalsha_redis_py_would_send(
    call: ScriptCall, key: str, now: str, cost: int, limit: int, seconds: int, commit: bool
) -> None:
    rate = Rate(limit=limit, seconds=seconds)
    packed = call.pack(key.encode(), now.encode(), cost, rate, commit)
    expected = _redis_py("EVALSHA", call.script.sha, 1, key, *call.argv(now, cost, rate, commit))
    assert packed == expected
    # Asked again (the rate is now cached), the same bytes.
    assert call.pack(key.encode(), now.encode(), cost, rate, commit) == expected


@pytest.mark.parametrize("call", CALLS, ids=lambda call: call.script.strategy)
def test_the_eval_fallback_carries_the_script_text_and_the_same_arguments(call: ScriptCall) -> None:
    rate = Rate.parse("5/min")
    packed = call.pack_source(b"k", "", 1, rate, True)
    assert packed == _redis_py("EVAL", call.script.source, 1, "k", *call.argv("", 1, rate, True))


def test_argv_is_the_order_the_scripts_read() -> None:
    strategy: ThrottleStrategy = TokenBucket(burst_size=7)
    call = ScriptCall(strategy, TOKEN_BUCKET, "250")
    # ARGV[1..6]: now, cost, limit, expire, mode, margin; then the strategy's own parameters.
    assert call.argv("123.5", 2, Rate.parse("10/s"), False) == ("123.5", "2", "10", "1000", "0", "250", "7", "0")
    assert call.argv("", 1, Rate.parse("10/s"), True)[4] == "1"
