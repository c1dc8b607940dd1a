"""Waiting is not failing: a hit queued behind others gets a real decision, however long it waited.

A hit waits in one of two places: behind its key's other hits (one round at a
time per key), or for one of the ``pool_size`` connections to its server. Both
are contention, so neither has a timeout: a hit that waited far longer than the
1.5 s the throttle used to allow still gets a real decision, and
``on_error="allow"`` never admits a client's own burst. Only the server's own
silence ends a wait early. Slowness is made by pausing the server (SIGSTOP) for
less than its command timeout; a timeout long enough for a loaded machine
keeps the point independent of the machine's speed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import DEFAULT_CALL_TIMEOUT
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.exceptions import BackendTimeoutError, ConnectionThrottled
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow, TokenBucket
from traffik.testing import MemcachedServer, ServerFactory

pytestmark = [pytest.mark.memcached, pytest.mark.slow]

PAUSE = DEFAULT_CALL_TIMEOUT + 0.3
"""How long the server stays frozen: longer than the throttle's old bound on a whole hit."""
TIMEOUT = PAUSE + 3.0
"""The command timeout: never reached by the pause, even on a loaded machine."""
LIMIT = 3


@pytest.fixture
def server(server_factory: ServerFactory) -> MemcachedServer:
    return server_factory(MemcachedServer)


@pytest.fixture(params=[False, True], ids=["pooled", "pipelined"])
async def slow_backend(server: MemcachedServer, request: pytest.FixtureRequest) -> AsyncIterator[MemcachedBackend]:
    # One connection, and a connect timeout far shorter than the pause: waiting for the
    # connection (which connect_timeout used to bound) is not connecting. Pipelined hits
    # share their connection rather than wait for it, and must wait out the pause alike.
    backend = MemcachedBackend(
        [server.address],
        namespace="waiting",
        clock=ManualClock(1_700_000_010_000.0),
        timeout=TIMEOUT,
        connect_timeout=0.2,
        pool_size=1,
        auto_pipeline=request.param,
    )
    await backend.initialize()
    yield backend
    await backend.close()


def request_from(address: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": (address, 40_000)})


async def timed_hit(throttle: HTTPThrottle, client: str) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        await throttle.hit(request_from(client))
    except ConnectionThrottled:
        outcome = "throttled"
    else:
        outcome = "admitted"
    return outcome, time.perf_counter() - started


@pytest.mark.parametrize(
    ("clients", "expected"),
    [
        # One client: its hits queue behind the one in flight on their key.
        pytest.param(["one"] * 8, {"admitted": LIMIT, "throttled": 8 - LIMIT}, id="behind-its-key"),
        # Many clients, one connection: their hits queue for it.
        pytest.param([f"client-{n}" for n in range(6)], {"admitted": 6}, id="for-a-connection"),
    ],
)
@pytest.mark.parametrize("strategy", [FixedWindow(), TokenBucket()], ids=["native", "cas"])
async def test_a_hit_that_waits_longer_than_any_timeout_gets_a_real_decision(
    slow_backend: MemcachedBackend,
    server: MemcachedServer,
    clients: list[str],
    expected: dict[str, int],
    strategy: FixedWindow | TokenBucket,
) -> None:
    assert slow_backend.call_timeout is None  # no throttle-side timer around a hit
    throttle = HTTPThrottle(
        "waiting",
        rate=Rate(limit=LIMIT, hours=1),
        backend=slow_backend,
        strategy=strategy,
        on_error="allow",  # a wait counted as a failure would be admitted: the count shows it
        registry=ThrottleRegistry(),
    )
    server.pause()
    asyncio.get_running_loop().call_later(PAUSE, server.resume)
    try:
        results = await asyncio.gather(*(timed_hit(throttle, client) for client in clients))
    finally:
        if server.is_paused:
            server.resume()
    outcomes = [outcome for outcome, _ in results]
    assert {name: outcomes.count(name) for name in set(outcomes)} == expected
    # Every hit waited out the pause: longer than the throttle's old bound and the connect timeout.
    assert min(seconds for _, seconds in results) > DEFAULT_CALL_TIMEOUT


@pytest.mark.parametrize("auto_pipeline", [False, True], ids=["pooled", "pipelined"])
async def test_a_silent_server_fails_the_waiting_hits_at_once(
    server_factory: ServerFactory, auto_pipeline: bool
) -> None:
    # Waiting has no timeout, but a command that times out with no reply from the server since
    # it began is evidence of an outage: the hits waiting for a connection fail with it, at once,
    # instead of each waiting out its own timeout in turn (8 x 0.5 s).
    server = server_factory(MemcachedServer)
    backend = MemcachedBackend(
        [server.address],
        namespace="silent",
        clock=ManualClock(1_700_000_010_000.0),
        timeout=0.5,
        pool_size=1,
        auto_pipeline=auto_pipeline,
    )
    await backend.initialize()
    try:
        server.pause()
        started = time.perf_counter()
        try:
            outcomes = await asyncio.gather(
                *(backend.hit(f"client-{n}", FixedWindow(), Rate.parse("5/min")) for n in range(8)),
                return_exceptions=True,
            )
        finally:
            server.resume()
        elapsed = time.perf_counter() - started
        assert all(isinstance(outcome, BackendTimeoutError) for outcome in outcomes), outcomes
        assert elapsed < 3.0  # not 8 x 0.5 s: allowance for a loaded machine, yet under the sequential sum
        assert (await backend.hit("client-0", FixedWindow(), Rate.parse("5/min"))).allowed
    finally:
        await backend.close()
