"""The gets/cas loop under contention.

A key's concurrent hits in one process are queued and applied in batches, so
they never race each other; races lost to other writers are retried, and a
bounded number of them ends in a denial (never an error, never an admission).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.exceptions import BackendTimeoutError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, SlidingWindowLog, ThrottleStrategy, TokenBucket
from traffik.strategies._base import Decision, State
from traffik.testing import MemcachedServer, ServerFactory

from tests.memcached.conftest import BackendFactory

pytestmark = pytest.mark.memcached

RATE = Rate.parse("5/min")


class InterferingBucket(TokenBucket):
    """A token bucket whose first ``interfere`` steps race another writer on the same key.

    Between the backend's ``gets`` and its ``cas``, another client changes the
    item (an empty ``append`` bumps its CAS token), so that ``cas`` loses.
    """

    __slots__ = ("address", "interfere", "key", "steps")

    def __init__(self, address: tuple[str, int], interfere: int) -> None:
        super().__init__()
        self.address, self.interfere, self.steps = address, interfere, 0
        self.key = b""

    def step(self, state: State | None, now: float, cost: int, rate: Rate) -> tuple[State | None, Decision]:
        self.steps += 1
        if self.steps <= self.interfere:
            with socket.create_connection(self.address, timeout=2) as sock:
                sock.sendall(b"append " + self.key + b" 0 0 0\r\n\r\n")
                reply = sock.recv(64)
            assert reply in (b"STORED\r\n", b"NOT_STORED\r\n")
            if reply == b"NOT_STORED\r\n":  # no item yet: the racer creates it instead
                with socket.create_connection(self.address, timeout=2) as sock:
                    sock.sendall(b"set " + self.key + b" 0 60 3\r\n1,1\r\n")
                    assert sock.recv(64) == b"STORED\r\n"
        return super().step(state, now, cost, rate)


@pytest.fixture
async def lone_backend(
    memcached_servers: tuple[MemcachedServer, MemcachedServer], clock: ManualClock
) -> AsyncIterator[MemcachedBackend]:
    backend = MemcachedBackend([memcached_servers[0].address], namespace="contention", clock=clock, max_retries=2)
    yield backend
    await backend.close()


async def prepared(backend: MemcachedBackend, address: tuple[str, int], interfere: int, key: str) -> InterferingBucket:
    strategy = InterferingBucket(address, interfere)
    await backend.clear()
    _, strategy.key = await backend.locate(strategy.NAME, key)
    return strategy


async def test_lost_races_are_retried(
    lone_backend: MemcachedBackend, memcached_servers: tuple[MemcachedServer, MemcachedServer]
) -> None:
    strategy = await prepared(lone_backend, memcached_servers[0].address, 2, "retried")
    decision = await lone_backend.hit("retried", strategy, RATE)
    assert decision.allowed
    assert strategy.steps == 3
    # One hit stored (a peek reports what would remain after one more).
    assert (await lone_backend.peek("retried", strategy, RATE)).hits_remaining == RATE.limit - 2


async def test_exhausted_retries_deny_instead_of_failing(
    lone_backend: MemcachedBackend, memcached_servers: tuple[MemcachedServer, MemcachedServer]
) -> None:
    strategy = await prepared(lone_backend, memcached_servers[0].address, 10, "hot")
    decision = await lone_backend.hit("hot", strategy, RATE)
    # Not a BackendError (on_error="allow" would admit it): a denial with a short wait.
    assert (decision.allowed, decision.wait_ms, decision.hits_remaining) == (False, 1_000.0, 0)
    assert strategy.steps == 3
    # Nothing was recorded by the hit that gave up: the racer's "1,1" item is still there.
    client, key = await lone_backend.locate(strategy.NAME, "hot")
    assert await client.get(key) == b"1,1"


async def stats(backend: MemcachedBackend) -> dict[str, int]:
    totals: dict[str, int] = {}
    for client in backend._clients:
        for name, value in (await client.stats()).items():
            if name in ("cmd_get", "cmd_set", "cas_badval", "incr_hits", "incr_misses", "decr_hits", "decr_misses"):
                totals[name] = totals.get(name, 0) + int(value)
    return totals


@pytest.mark.parametrize(
    "strategy",
    [TokenBucket(), SlidingWindowLog(), FixedWindow()],
    ids=["token-bucket", "sliding-window-log", "fixed-window"],
)
async def test_concurrent_hits_of_one_key_never_race_each_other(
    backend: MemcachedBackend, strategy: ThrottleStrategy
) -> None:
    rate = Rate.parse("50/hour")
    await backend.hit("warm", strategy, rate)  # the generation is read; the counters below are the hits' only
    before = await stats(backend)
    decisions = await asyncio.gather(*(backend.hit("one-client", strategy, rate) for _ in range(400)))
    after = await stats(backend)
    # Arrival order is decision order: the first 50 pass, every later one is denied.
    assert [decision.allowed for decision in decisions] == [True] * 50 + [False] * 350
    assert after["cas_badval"] == before["cas_badval"]  # not one lost race
    # A handful of rounds, not one (or one per lost race) per hit: the queued hits were applied in batches.
    assert sum(after.values()) - sum(before.values()) <= 8


async def test_a_caller_that_gives_up_while_queued_consumes_nothing(backend: MemcachedBackend) -> None:
    rate, strategy = Rate.parse("50/hour"), TokenBucket()
    await backend.initialize()  # the generation is known: hits queue in the order they start
    first = asyncio.ensure_future(backend.hit("client", strategy, rate))
    queued = [asyncio.ensure_future(backend.hit("client", strategy, rate)) for _ in range(10)]
    await asyncio.sleep(0)  # every hit is now in flight or queued behind the first
    for task in queued[:5]:
        task.cancel()
    assert (await first).allowed
    remaining = [await task for task in queued[5:]]
    assert [decision.hits_remaining for decision in remaining] == [48, 47, 46, 45, 44]
    assert all(task.cancelled() for task in queued[:5])


async def test_a_store_failure_reaches_every_queued_hit(server_factory: ServerFactory, clock: ManualClock) -> None:
    server = server_factory(MemcachedServer)
    backend = MemcachedBackend([server.address], namespace="queued-failure", clock=clock, timeout=0.2)
    await backend.initialize()
    try:
        server.pause()
        try:
            outcomes = await asyncio.gather(
                *(backend.hit("client", TokenBucket(), RATE) for _ in range(20)), return_exceptions=True
            )
        finally:
            server.resume()
        # A store that does not answer is a failure for every hit (on_error decides), and none hangs.
        assert all(isinstance(outcome, BackendTimeoutError) for outcome in outcomes), outcomes
        assert (await backend.hit("client", TokenBucket(), RATE)).allowed
    finally:
        await backend.close()


async def test_hits_after_a_batch_start_a_new_one(make_backend: BackendFactory) -> None:
    backend = make_backend()
    rate, strategy = Rate.parse("50/hour"), TokenBucket()
    for _ in range(3):
        decisions = await asyncio.gather(*(backend.hit("client", strategy, rate) for _ in range(10)))
        assert all(decision.allowed for decision in decisions)
    assert (await backend.peek("client", strategy, rate)).hits_remaining == 19
    assert not backend._runner(strategy)._queues  # type: ignore[attr-defined]  # nothing is left queued


async def test_a_cancelled_drainer_cancels_its_waiters_and_frees_the_key(backend: MemcachedBackend) -> None:
    # What happens to queued hits when the loop shuts down: their callers are not left waiting.
    rate, strategy = Rate.parse("50/hour"), TokenBucket()
    await backend.initialize()
    first = asyncio.ensure_future(backend.hit("client", strategy, rate))
    queued = [asyncio.ensure_future(backend.hit("client", strategy, rate)) for _ in range(5)]
    await asyncio.sleep(0)
    assert (await first).allowed
    queues = backend._runner(strategy)._queues  # type: ignore[attr-defined]  # the runner's queues, by key
    (queue,) = queues.values()
    queue.drainer.cancel()  # before it even started its first round
    outcomes = await asyncio.gather(*queued, return_exceptions=True)
    assert all(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes)
    assert not queues
    assert (await backend.hit("client", strategy, rate)).hits_remaining == 48
