"""Numbers the backends cannot compute exactly are refused; the largest accepted ones never hang a store.

Backends compute in doubles (Redis's Lua has no other numbers): above 2**53,
``n + 1 == n``. A limit of 10**18 once made a Lua script loop forever after
its first write, which no ``SCRIPT KILL`` can stop. Limits, windows and costs
above 2**53 are now refused where they are given, and every search in the
strategies (Python and Lua alike) is bounded, so the largest accepted numbers
decide at once, on every backend, exactly as the pure step does.

The Redis runs get a server of their own with a short busy-script threshold:
should a script ever loop again, that server (not the shared one) is wedged,
and the hit fails on its socket timeout instead of hanging the run.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError
from traffik.rates import MAX_EXACT_INT, Rate
from traffik.registry import ThrottleRegistry
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
from traffik.testing import MemcachedServer, RedisServer

from tests.badinput.backends import ALL_KINDS

HUGE = 10**18
STRATEGIES: dict[str, ThrottleStrategy] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-with-debt": TokenBucketWithDebt(burst_size=MAX_EXACT_INT, max_debt=MAX_EXACT_INT),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(burst_tolerance_ms=MAX_EXACT_INT),
}
# (ms to advance, cost, peek only): whole-limit and half-limit costs, at the same instant and
# across window boundaries at wall-clock times, where ~10**9 units share one float ready time.
EVENTS = [
    (0.0, 1, False),
    (0.0, 2**52, False),
    (0.37, MAX_EXACT_INT, False),
    (0.0, 1, True),
    (1_000.37, 1, False),
    (0.001, MAX_EXACT_INT, True),
    (250.0, 2**52, False),
    (0.25, 2**52 + 1, False),
    (3_000.0, MAX_EXACT_INT, False),
    (0.0, 1, False),
]
SECONDS_PER_SEQUENCE = 20.0  # each hit takes well under a millisecond; a loop of 2**53 steps never ends
_names = itertools.count()


@pytest.fixture(scope="module")
def busy_redis() -> Iterator[RedisServer]:
    """A Redis of this module only, answering BUSY after a script has run 100 ms."""
    server = RedisServer(extra_args=("--busy-reply-threshold", "100"))
    server.start()
    try:
        yield server
    finally:
        server.stop()  # SIGTERM, then SIGKILL: also ends a server wedged by a script


@pytest.fixture(params=ALL_KINDS)
async def clocked_backend(request: pytest.FixtureRequest) -> AsyncIterator[tuple[ThrottleBackend, ManualClock]]:
    """Each backend kind on a manual clock at a wall-clock-sized time, in its own namespace."""
    clock = ManualClock(1_700_000_000_000.0)
    namespace = f"numbers-{next(_names)}"
    made: ThrottleBackend
    if request.param == "inmemory":
        made = InMemoryBackend(namespace, cleanup_frequency=None, clock=clock)
    elif request.param == "redis":
        server: RedisServer = request.getfixturevalue("busy_redis")
        made = RedisBackend(server.url, namespace=namespace, clock=clock, clock_margin_ms=600_000)
    else:
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        made = MemcachedBackend([s.address for s in servers], namespace=namespace, clock=clock)
    await made.initialize()
    yield made, clock
    await made.clear()
    await made.close()


def request_() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("192.0.2.7", 1)})


def throttle_on(backend: ThrottleBackend | None, **options: Any) -> HTTPThrottle:
    options.setdefault("rate", "5/min")
    return HTTPThrottle("numbers", backend=backend, registry=ThrottleRegistry(), **options)


# -- refused where they are given ------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: Rate(limit=MAX_EXACT_INT + 1, seconds=1),
        lambda: Rate(limit=HUGE, minutes=1),
        lambda: Rate.parse(f"{HUGE}/min"),
    ],
    ids=["2**53+1", "10**18", "parsed"],
)
def test_a_limit_above_2_53_is_refused_naming_it(make: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"limit must be at most 2\*\*53.*got \d{16,}"):
        make()


@pytest.mark.parametrize(
    "make",
    [lambda: Rate(limit=1, days=10**12), lambda: Rate(limit=1, milliseconds=MAX_EXACT_INT + 1)],
    ids=["days", "milliseconds"],
)
def test_a_window_above_2_53_ms_is_refused_naming_it(make: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"window must be at most 2\*\*53 .* ms.*got \d+ ms from"):
        make()


def test_the_largest_limit_and_window_are_accepted() -> None:
    rate = Rate(limit=MAX_EXACT_INT, milliseconds=MAX_EXACT_INT)
    assert (rate.limit, rate.expire) == (2**53, 2**53)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: TokenBucket(burst_size=MAX_EXACT_INT + 1), "burst_size"),
        (lambda: TokenBucketWithDebt(max_debt=HUGE), "max_debt"),
        (lambda: GCRA(burst_tolerance_ms=1e300), "burst_tolerance_ms"),
    ],
    ids=["burst_size", "max_debt", "burst_tolerance_ms"],
)
def test_strategy_parameters_above_2_53_are_refused_naming_them(make: Any, name: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"{name} must be .*up to 2\*\*53.*got"):
        make()


async def test_a_throttle_refuses_a_huge_rate_string_at_construction(
    clocked_backend: tuple[ThrottleBackend, ManualClock],
) -> None:
    backend, _ = clocked_backend
    with pytest.raises(ConfigurationError, match=rf"{HUGE}"):
        throttle_on(backend, rate=f"{HUGE}/min")


async def test_a_cost_above_2_53_is_refused_at_construction_and_at_call(
    clocked_backend: tuple[ThrottleBackend, ManualClock],
) -> None:
    backend, _ = clocked_backend
    with pytest.raises(ConfigurationError, match=rf"cost must be at most 2\*\*53.*got {HUGE}"):
        throttle_on(backend, cost=HUGE)
    throttle = throttle_on(backend)
    with pytest.raises(ValueError, match=rf"cost must be an int from 0 to 2\*\*53.*got {MAX_EXACT_INT + 1}"):
        await throttle.hit(request_(), cost=MAX_EXACT_INT + 1)

    async def huge_cost(connection: Request, context: Any) -> int:
        return HUGE

    with pytest.raises(ConfigurationError, match=rf"must return an int from 0 to 2\*\*53.*got {HUGE}"):
        await throttle_on(backend, cost=huge_cost).hit(request_())
    # Nothing was consumed by the refused calls.
    stat = await throttle.stat(request_())
    assert stat is not None
    assert stat.hits_remaining == 5


# -- the largest accepted numbers decide at once, as the pure step does --------------


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_the_largest_limit_decides_at_once_like_the_pure_step(
    clocked_backend: tuple[ThrottleBackend, ManualClock], name: str
) -> None:
    backend, clock = clocked_backend
    strategy, rate = STRATEGIES[name], Rate(limit=MAX_EXACT_INT, seconds=1)

    async def replay() -> None:
        reference: State | None = None
        for step, (advance, cost, peek) in enumerate(EVENTS):
            clock.advance(advance)
            now = clock()
            if peek:
                expected = strategy.peek(reference, now, cost, rate)
                got = await backend.peek("largest", strategy, rate, cost)
            else:
                reference, expected = strategy.step(reference, now, cost, rate)
                got = await backend.hit("largest", strategy, rate, cost)
            assert got == expected, f"event {step}: cost {cost} at {now!r}"

    await asyncio.wait_for(replay(), SECONDS_PER_SEQUENCE)
