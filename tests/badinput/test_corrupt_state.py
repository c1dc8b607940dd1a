"""Garbage written straight into the store under a throttle's key never crashes a request.

The bad value is treated as no state: the request is decided afresh, the
value is overwritten, and the limit holds again from there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend, decode_state, encode_state
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.exceptions import ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    State,
    TokenBucket,
)

LIMIT = 3
STRATEGIES = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "leaky-bucket": LeakyBucket(),
    "gcra": GCRA(burst_tolerance_ms=40_000),  # a burst of the whole limit, like the others
}
GARBAGE: dict[str, bytes] = {
    "bytes": b"\xff\xfe\x00garbage",
    "text": b"hello",
    "empty": b"",
    "truncated": b"1700000000000.0,",
    "one-number": b"12",
    "negative": b"-5",
    "nan": b"nan,nan,nan",
    "json": b'{"tokens": 3}',
    "huge": b"9" * 400,
    "future-short": b"9999999999999.5",  # decodes, lies in the future, but has the wrong shape
}

Corrupt = Callable[[bytes], Awaitable[None]]


def request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.44", 1)})


async def admitted(throttle: HTTPThrottle) -> bool:
    try:
        await throttle.hit(request())
    except ConnectionThrottled:
        return False
    return True


async def corrupter(backend: ThrottleBackend, keys_written: list[Any]) -> Corrupt:
    """A function that overwrites every stored state of ``backend`` with a raw value."""
    if isinstance(backend, RedisBackend):

        async def corrupt_redis(value: bytes) -> None:
            client: Redis = Redis.from_url(backend_url(backend))
            try:
                keys = [key async for key in client.scan_iter(match=f"{backend.namespace}:*")]
                assert keys, "nothing stored to corrupt"
                for key in keys:
                    await client.set(key, value, px=60_000)
            finally:
                await client.aclose()

        return corrupt_redis
    if isinstance(backend, MemcachedBackend):

        async def corrupt_memcached(value: bytes) -> None:
            assert keys_written, "nothing stored to corrupt"
            for node, key in keys_written:
                await node.set(key, value, 60)

        return corrupt_memcached
    raise AssertionError(f"no raw access to {backend!r}")


def backend_url(backend: RedisBackend) -> str:
    url = backend._url  # test-only peek at where the backend connects
    assert url is not None
    return url


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("strategy_name", list(STRATEGIES))
async def test_a_corrupted_state_is_replaced_not_fatal(
    shared_backend: ThrottleBackend,
    strategy_name: str,
    garbage: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = shared_backend
    keys_written: list[Any] = []
    if isinstance(backend, MemcachedBackend):
        locate = backend.locate

        async def recording_locate(*parts: str) -> Any:
            found = await locate(*parts)
            keys_written.append(found)
            return found

        monkeypatch.setattr(backend, "locate", recording_locate)
    throttle = HTTPThrottle(
        "corrupt",
        rate=f"{LIMIT}/min",
        backend=backend,
        strategy=STRATEGIES[strategy_name],
        on_error="raise",  # a crash must show, not hide behind a policy
        registry=ThrottleRegistry(),
    )
    assert await admitted(throttle)
    corrupt = await corrupter(backend, keys_written)
    await corrupt(GARBAGE[garbage])
    outcomes = [await admitted(throttle) for _ in range(LIMIT + 1)]
    if strategy_name == "fixed-window" and garbage == "one-number":
        # A native counter (memcached's, Redis's): a number stored there is a count like any other
        # (12 hits: over the limit).
        assert outcomes == [False] * (LIMIT + 1)
    elif isinstance(backend, MemcachedBackend) and strategy_name == "gcra" and garbage == "future-short":
        # A GCRA state is one number, so this one is well formed: "blocked until then" (it expires with its TTL).
        assert outcomes == [False] * (LIMIT + 1)
    else:
        # Decided afresh from the garbage, then exact again.
        assert outcomes == [True] * LIMIT + [False]


class BytesBackend(ThrottleBackend):
    """A third-party backend that only stores bytes and relies on the generic lock + load + step + store path."""

    NAME = "bytes"

    def __init__(self) -> None:
        super().__init__("bytes")
        self.values: dict[str, bytes] = {}

    async def load_state(self, key: str) -> State | None:
        raw = self.values.get(key)
        return None if raw is None else decode_state(raw)

    async def store_state(self, key: str, state: State, ttl_ms: int) -> None:
        self.values[key] = encode_state(state)

    async def clear(self) -> None:
        self.values.clear()


@pytest.mark.parametrize("garbage", list(GARBAGE))
@pytest.mark.parametrize("strategy_name", list(STRATEGIES))
async def test_the_generic_path_replaces_and_logs_a_corrupted_state(
    strategy_name: str, garbage: str, caplog: pytest.LogCaptureFixture
) -> None:
    backend = BytesBackend()
    throttle = HTTPThrottle(
        "corrupt",
        rate=f"{LIMIT}/min",
        backend=backend,
        strategy=STRATEGIES[strategy_name],
        on_error="raise",
        registry=ThrottleRegistry(),
    )
    assert await admitted(throttle)
    (key,) = backend.values
    backend.values[key] = GARBAGE[garbage]
    with caplog.at_level(logging.WARNING, logger="traffik"):
        outcomes = [await admitted(throttle) for _ in range(LIMIT + 1)]
    if strategy_name == "gcra" and garbage == "future-short":
        assert outcomes == [False] * (LIMIT + 1)  # a well-formed GCRA state (see above)
        return
    assert outcomes == [True] * LIMIT + [False]
    # Garbage that decodes to an already expired state is simply absent; anything unreadable is reported.
    # ("future-short" is a well-formed empty sliding log: nothing to report either.)
    readable = garbage in ("one-number", "negative") or (garbage, strategy_name) == (
        "future-short",
        "sliding-window-log",
    )
    assert readable or any("unreadable" in record.getMessage() for record in caplog.records)
    assert decode_state(backend.values[key])  # overwritten with a real state
