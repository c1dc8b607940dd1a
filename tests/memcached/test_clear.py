"""Clearing a namespace with a generation number: no key listing, no flush_all."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.memcached._client import MemcachedClient
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import ThrottleStrategy, TokenBucket
from traffik.testing import MemcachedServer, ServerFactory

pytestmark = pytest.mark.memcached

BackendFactory = Callable[..., MemcachedBackend]
RATE = Rate.parse("1/min")


async def exhausted(backend: MemcachedBackend, key: str, strategy: ThrottleStrategy) -> bool:
    while (await backend.hit(key, strategy, RATE)).allowed:
        pass
    return not (await backend.peek(key, strategy, RATE)).allowed


async def test_clear_restores_every_key_of_the_namespace(backend: MemcachedBackend, strategy: ThrottleStrategy) -> None:
    keys = [f"client-{i}" for i in range(20)] + ["x" * 1_000]
    for key in keys:
        assert await exhausted(backend, key, strategy)
    await backend.clear()
    assert all([(await backend.hit(key, strategy, RATE)).allowed for key in keys])


async def test_clear_leaves_other_namespaces_and_foreign_keys_alone(
    make_backend: BackendFactory, memcached_servers: tuple[MemcachedServer, MemcachedServer]
) -> None:
    strategy = TokenBucket()
    cleared, other = make_backend(), make_backend()
    foreign = [MemcachedClient(s.host, s.port, pool_size=1, timeout=1, connect_timeout=1) for s in memcached_servers]
    try:
        for client in foreign:
            assert await client.set(b"someone-elses-key", b"precious", 0)
        assert await exhausted(cleared, "k", strategy)
        assert await exhausted(other, "k", strategy)
        await cleared.clear()
        assert (await cleared.hit("k", strategy, RATE)).allowed
        assert not (await other.hit("k", strategy, RATE)).allowed
        assert [await client.get(b"someone-elses-key") for client in foreign] == [b"precious", b"precious"]
    finally:
        for client in foreign:
            await client.delete(b"someone-elses-key")
            await client.close()


async def test_other_instances_see_a_clear_after_their_refresh_interval(
    make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh_clock = ManualClock(0.0)
    monkeypatch.setattr("traffik.backends.memcached._backend.monotonic_ms", refresh_clock)
    strategy = TokenBucket()
    clearing = make_backend()
    watching = make_backend(namespace=clearing.namespace, generation_refresh=5.0)
    frozen = make_backend(namespace=clearing.namespace, generation_refresh=None)
    for backend in (watching, frozen):
        await backend.initialize()
    assert await exhausted(clearing, "k", strategy)
    await clearing.clear()
    assert (await clearing.hit("k", strategy, RATE)).allowed
    refresh_clock.advance(4_999)
    assert not (await watching.hit("k", strategy, RATE)).allowed  # still on the cached generation
    refresh_clock.advance(1)
    assert not (await watching.peek("k", strategy, RATE)).allowed  # re-read: the new generation, used by `clearing`
    assert watching._generation == clearing._generation
    assert not (await frozen.hit("k", strategy, RATE)).allowed
    assert frozen._generation != clearing._generation


async def test_a_lost_generation_key_is_recreated_from_the_cached_one(
    server_factory: ServerFactory, clock: ManualClock
) -> None:
    server = server_factory(MemcachedServer)
    backend = MemcachedBackend([server.address], namespace="restarted", clock=clock, generation_refresh=None)
    try:
        await backend.initialize()
        generation = backend._generation
        assert generation is not None
        server.restart()  # memcached keeps nothing: the generation key is gone
        await backend.clear()
        assert backend._generation == generation + 1
        fresh = MemcachedBackend([server.address], namespace="restarted", clock=clock)
        await fresh.initialize()
        assert fresh._generation == generation + 1
        await fresh.close()
    finally:
        await backend.close()


async def test_generations_are_random_per_new_namespace(make_backend: BackendFactory) -> None:
    first, second = make_backend(), make_backend()
    await first.initialize()
    await second.initialize()
    assert first._generation != second._generation
