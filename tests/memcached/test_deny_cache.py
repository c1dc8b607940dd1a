"""The deny cache on real memcached servers: denied hits stop reaching memcached, for every strategy.

memcached's own counters (``stats``: gets, sets, cas, incr/decr, touches, summed over
both servers) show which hits reached it. Time moves only with the ManualClock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from traffik.backends.deny_cache import DenyCache
from traffik.backends.memcached import MemcachedBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import FixedWindow, ThrottleStrategy
from traffik.testing import MemcachedServer

pytestmark = pytest.mark.memcached

BackendFactory = Callable[..., MemcachedBackend]
_COUNTERS = ("cmd_get", "cmd_set", "cmd_touch", "cas_misses", "cas_hits", "cas_badval", "incr_misses", "incr_hits")


async def operations(servers: tuple[MemcachedServer, MemcachedServer]) -> int:
    """Commands both servers have served so far (the counters that a hit can move)."""
    total = 0
    for server in servers:
        reader, writer = await asyncio.open_connection(*server.address)
        writer.write(b"stats\r\n")
        await writer.drain()
        data = await reader.readuntil(b"END\r\n")
        writer.close()
        await writer.wait_closed()
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in _COUNTERS:
                total += int(parts[2])
    return total


async def test_denied_hits_stop_reaching_memcached(
    make_backend: BackendFactory,
    memcached_servers: tuple[MemcachedServer, MemcachedServer],
    clock: ManualClock,
    strategy: ThrottleStrategy,
) -> None:
    cache = DenyCache()
    backend = make_backend(deny_cache=cache)
    rate = Rate.parse("100/min")
    limit = 103 if "debt" in type(strategy).__name__.lower() else 100
    decisions = [await backend.hit("client", strategy, rate) for _ in range(limit + 1)]
    assert [d.allowed for d in decisions] == [True] * limit + [False]
    before = await operations(memcached_servers)
    local = [await backend.hit("client", strategy, rate) for _ in range(50)]
    assert await operations(memcached_servers) == before
    assert cache.local_denials == 50
    assert all(not d.allowed and d.wait_ms == decisions[-1].wait_ms and d.hits_remaining == 0 for d in local)
    clock.advance(decisions[-1].wait_ms)
    assert (await backend.hit("client", strategy, rate)).allowed


async def test_clear_forgets_the_denials(make_backend: BackendFactory) -> None:
    backend = make_backend(deny_cache=True)
    strategy, rate = FixedWindow(), Rate.parse("1/min")
    await backend.hit("client", strategy, rate)
    assert not (await backend.hit("client", strategy, rate)).allowed
    await backend.clear()
    assert backend.deny_cache is not None
    assert len(backend.deny_cache) == 0
    assert (await backend.hit("client", strategy, rate)).allowed


async def test_a_smaller_cost_still_asks_memcached(
    make_backend: BackendFactory, memcached_servers: tuple[MemcachedServer, MemcachedServer]
) -> None:
    backend = make_backend(deny_cache=True)
    strategy, rate = FixedWindow(), Rate.parse("5/min")
    assert (await backend.hit("client", strategy, rate, 3)).allowed
    assert not (await backend.hit("client", strategy, rate, 3)).allowed
    before = await operations(memcached_servers)
    assert not (await backend.hit("client", strategy, rate, 4)).allowed
    assert await operations(memcached_servers) == before
    assert (await backend.hit("client", strategy, rate, 2)).allowed
    assert await operations(memcached_servers) > before
