"""The gets/cas loop: lost races are retried, and a bounded number of them ends in StateContentionError."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.exceptions import StateContentionError
from traffik.rates import Rate
from traffik.strategies import TokenBucket
from traffik.strategies._base import Decision, State
from traffik.testing import MemcachedServer

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


async def test_exhausted_retries_raise_state_contention_error(
    lone_backend: MemcachedBackend, memcached_servers: tuple[MemcachedServer, MemcachedServer]
) -> None:
    strategy = await prepared(lone_backend, memcached_servers[0].address, 10, "hot")
    with pytest.raises(StateContentionError, match="3 attempts"):
        await lone_backend.hit("hot", strategy, RATE)
    assert strategy.steps == 3
