"""RedisBackend behind Sentinel: redis+sentinel:// URLs, master_for clients, and a forced failover under load."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._sentinel import SentinelURL, parse_sentinel_url, sentinel_client_from_url
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError, ConfigurationError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from traffik.testing import RedisServer
from valkey.asyncio.sentinel import Sentinel as ValkeySentinel

from tests.redis.conftest import unique_namespace
from tests.redis.topologies import SentinelTopology

pytestmark = pytest.mark.redis

TIMEOUT = 0.5  # the backend's default socket and connect timeouts
# A hit during a failover may ask Sentinel (a command), connect, handshake and run its
# script, each bounded by a timeout: this is their sum, with room for a loaded machine.
HIT_BOUND_S = 5 * TIMEOUT
UNCAPPED = Rate.parse("1000000000/day")  # FixedWindow's counter is then the number of hits counted
LOAD_TASKS = 16
RECOVERY_BOUND_S = 10.0


@pytest.fixture(scope="module")
def topology() -> Iterator[SentinelTopology]:
    """A primary, a replica and a Sentinel, shared by this module (failovers swap the two nodes)."""
    started = SentinelTopology.start_for_test()
    yield started
    started.stop()


def _master_for(topology: SentinelTopology) -> Redis:
    """The application's own Sentinel client, made the way redis-py documents (no timeouts of its own)."""
    client: Redis = Sentinel(topology.sentinel_addresses).master_for(topology.service)
    return client


def _valkey_master_for(topology: SentinelTopology) -> Any:
    """The same, made with valkey-py (whose Sentinel client reports a demoted primary with its own exceptions)."""
    sentinel = ValkeySentinel(topology.sentinel_addresses)  # type: ignore[no-untyped-call]  # unannotated
    return sentinel.master_for(topology.service)


KINDS = ["url", "master_for", "valkey-master_for"]


@pytest.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest, topology: SentinelTopology) -> AsyncIterator[RedisBackend]:
    """A backend on the Sentinel-managed primary: built from the redis+sentinel:// URL, or given a master_for client."""
    async with _backend_on(topology, request.param) as made:
        yield made


@pytest.fixture(params=KINDS)
async def patient_backend(request: pytest.FixtureRequest, topology: SentinelTopology) -> AsyncIterator[RedisBackend]:
    """The same with 5 s timeouts, for tests whose point is not timing.

    Right after a failover a hit may ask Sentinel, connect and handshake: on a loaded
    machine that can exceed the default 0.5 s while every server is fine.
    """
    async with _backend_on(topology, request.param, socket_timeout=5.0, connect_timeout=5.0) as made:
        yield made


@asynccontextmanager
async def _backend_on(topology: SentinelTopology, kind: str, **options: Any) -> AsyncIterator[RedisBackend]:
    client: Any = None
    if kind == "master_for":
        client = _master_for(topology)
    elif kind == "valkey-master_for":
        client = _valkey_master_for(topology)
    made = RedisBackend(
        client if client is not None else topology.url, namespace=unique_namespace("sentinel"), **options
    )
    yield made
    await made.close()
    if client is not None:
        await client.aclose()
        for sentinel in client.connection_pool.sentinel_manager.sentinels:
            await sentinel.aclose()


def _sentinel_pool(client: Redis) -> SentinelConnectionPool:
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    return pool


async def _count_on(address: tuple[str, int], namespace: str, key: str, rate: Rate = UNCAPPED) -> int:
    """Hits counted for ``key`` under ``rate`` on the node at ``address``, read with a peek (never a write).

    A full window reads as ``rate.limit`` (its denials leave their increments in the counter).
    """
    # Generous timeouts: an observer's read must not fail because the machine is busy.
    observer = RedisBackend(
        f"redis://{address[0]}:{address[1]}", namespace=namespace, socket_timeout=5.0, connect_timeout=5.0
    )
    try:
        decision = await observer.peek(key, FixedWindow(), rate, cost=0)
        return rate.limit - int(decision.hits_remaining)
    finally:
        await observer.close()


# -- URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "redis+sentinel://10.0.0.1:26380,10.0.0.2/mymaster",
            SentinelURL((("10.0.0.1", 26380), ("10.0.0.2", 26379)), "mymaster"),
            id="hosts-default-port",
        ),
        pytest.param(
            "redis+sentinel://app:p%40ss@[::1]:26379/cache/3?sentinel_username=s&sentinel_password=sp",
            SentinelURL((("::1", 26379),), "cache", 3, "app", "p@ss", "s", "sp"),
            id="credentials-db-ipv6",
        ),
        pytest.param(
            "redis+sentinel://:secret@h:1/svc", SentinelURL((("h", 1),), "svc", password="secret"), id="password-only"
        ),
    ],
)
def test_a_sentinel_url_names_the_sentinels_the_service_and_the_credentials(url: str, expected: SentinelURL) -> None:
    assert parse_sentinel_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param("redis+sentinel://h:26379", "needs the service name", id="no-service"),
        pytest.param("redis+sentinel://h:26379/a/b/c", "needs the service name", id="too-deep"),
        pytest.param("redis+sentinel:///svc", "at least one Sentinel host", id="no-host"),
        pytest.param("redis+sentinel://h:port/svc", "invalid Sentinel host 'h:port'", id="bad-port"),
        pytest.param("redis+sentinel://h:0/svc", "invalid Sentinel host 'h:0'", id="port-zero"),
        pytest.param("redis+sentinel://h/svc/x", "the db in", id="bad-db"),
        pytest.param("redis+sentinel://h/svc?ssl=true", "unknown option(s) ssl", id="unknown-option"),
    ],
)
def test_an_invalid_sentinel_url_fails_at_construction(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^RedisBackend: .*") as caught:
        RedisBackend(url)
    assert message in str(caught.value)


def test_error_messages_never_show_a_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        RedisBackend("redis+sentinel://app:hunter2@h:x/svc?sentinel_password=hunter3")
    assert "hunter2" not in str(caught.value)
    assert "hunter3" not in str(caught.value)


async def test_the_sentinels_get_the_timeouts_and_their_own_credentials() -> None:
    client = sentinel_client_from_url(
        "redis+sentinel://app:secret@127.0.0.1:1/svc/2?sentinel_password=sp", socket_timeout=0.25
    )
    try:
        pool = _sentinel_pool(client)
        assert (pool.connection_kwargs["password"], pool.connection_kwargs["db"]) == ("secret", 2)
        sentinel_options = pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs
        assert (sentinel_options["password"], sentinel_options["socket_timeout"]) == ("sp", 0.25)
    finally:
        await client.aclose()


# -- a Sentinel-managed primary --------------------------------------------------------


async def test_hits_reach_the_primary_sentinel_names(backend: RedisBackend, topology: SentinelTopology) -> None:
    rate = Rate.parse("3/day")
    decisions = [await backend.hit("k", FixedWindow(), rate) for _ in range(4)]
    assert [decision.allowed for decision in decisions] == [True, True, True, False]
    assert await _count_on(topology.primary_address(), backend.namespace, "k", rate) == 3


@pytest.mark.parametrize("scheme", ["redis", "redis+sentinel"])
async def test_a_sentinel_url_sizes_its_pool_as_a_redis_url_does(
    scheme: str, topology: SentinelTopology, redis_server: RedisServer
) -> None:
    # Twice max_connections: half kept for hits, half for locks and clearing. A
    # redis+sentinel:// pool once got redis-py's default instead (2**31 connections).
    url = topology.url if scheme == "redis+sentinel" else redis_server.url
    backend = RedisBackend(url, namespace=unique_namespace("pool"), max_connections=3)
    try:
        assert (await backend.hit("k", FixedWindow(), UNCAPPED)).allowed
        client = backend._client
        assert isinstance(client, Redis)
        assert client.connection_pool.max_connections == 6
        assert backend._kept is not None
        assert backend._kept.limit == 3
    finally:
        await backend.clear()
        await backend.close()


@dataclass
class _Hit:
    started: float
    ended: float
    error: BackendError | None


async def _hammer(backend: RedisBackend, key: str, stop: asyncio.Event, hits: list[_Hit]) -> None:
    """Hit ``key`` until ``stop``, as one client of many would (a short pause between requests)."""
    while not stop.is_set():
        started = time.monotonic()
        error: BackendError | None = None
        try:
            await backend.hit(key, FixedWindow(), UNCAPPED)
        except BackendError as exc:
            error = exc
        hits.append(_Hit(started, time.monotonic(), error))
        await asyncio.sleep(0.005)


async def _first_count_above(address: tuple[str, int], namespace: str, key: str, floor: int) -> float:
    """When the node at ``address`` first counts more than ``floor`` hits for ``key`` (polled)."""
    deadline = time.monotonic() + RECOVERY_BOUND_S * 2
    while await _count_on(address, namespace, key) <= floor:
        if time.monotonic() > deadline:
            raise AssertionError(f"no hit reached the new primary {address} in time")
        await asyncio.sleep(0.02)
    return time.monotonic()


@pytest.mark.slow
async def test_a_forced_failover_under_load_loses_no_hit_twice_and_recovers(
    backend: RedisBackend, topology: SentinelTopology
) -> None:
    key, namespace = "load", backend.namespace
    await backend.hit("warm-up", FixedWindow(), UNCAPPED)
    stop, hits = asyncio.Event(), list[_Hit]()
    workers = [asyncio.create_task(_hammer(backend, key, stop, hits)) for _ in range(LOAD_TASKS)]
    try:
        await asyncio.sleep(0.3)
        failover_at = time.monotonic()
        target = await asyncio.to_thread(topology.failover)
        await asyncio.to_thread(topology.wait_until_named, target)
        switched_at = time.monotonic()
        # Promoted before Sentinel names it: from here on only hits that reach it count there.
        at_switch = await _count_on(target, namespace, key)
        recovered_at = await _first_count_above(target, namespace, key, at_switch)
        await asyncio.to_thread(topology.wait_until_settled, target)
        settled_at = time.monotonic()
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*workers)

    errors = [hit for hit in hits if hit.error is not None]
    counted = await _count_on(target, namespace, key)
    answered = len(hits) - len(errors)
    timeouts = sum(isinstance(hit.error, BackendTimeoutError) for hit in errors)
    late = [hit for hit in errors if hit.started > settled_at]
    print(
        f"\nsentinel failover: named {switched_at - failover_at:.2f} s, first hit on the new primary "
        f"{recovered_at - failover_at:.2f} s, settled {settled_at - failover_at:.2f} s after SENTINEL FAILOVER; "
        f"{len(hits)} hits, {len(errors)} errors ({timeouts} timeouts), slowest hit "
        f"{max(hit.ended - hit.started for hit in hits):.3f} s"
    )
    # Every hit returned within its bound; the failures are what on_error handles.
    assert max(hit.ended - hit.started for hit in hits) < HIT_BOUND_S
    assert all(isinstance(hit.error, (BackendConnectionError, BackendTimeoutError)) for hit in errors), errors[:3]
    # Hits moved to the new primary within seconds, and none failed once the topology settled.
    assert recovered_at - failover_at < RECOVERY_BOUND_S
    assert not late, late[:3]
    # Never counted twice: the new primary holds at most one count per hit that got an answer
    # (plus those that timed out, which may have run). Hits the old primary answered after the
    # promotion are lost with its data when it becomes a replica: fewer, never more.
    assert counted <= answered + timeouts
    # Nothing lost since the topology settled: every hit after it was counted there.
    after = sum(1 for hit in hits if hit.error is None and hit.started > settled_at)
    assert counted - at_switch >= after > 0


@pytest.mark.slow
async def test_limits_are_exact_after_a_failover(patient_backend: RedisBackend, topology: SentinelTopology) -> None:
    backend = patient_backend
    await backend.hit("before", FixedWindow(), UNCAPPED)
    target = await asyncio.to_thread(topology.failover)
    await asyncio.to_thread(topology.wait_until_settled, target)
    # The first hits meet the demoted primary (errors for on_error) and reconnect through Sentinel.
    deadline = time.monotonic() + RECOVERY_BOUND_S
    while True:
        try:
            await backend.hit("probe", FixedWindow(), UNCAPPED)
            break
        except BackendConnectionError:
            assert time.monotonic() < deadline, "hits did not recover"
    limit = Rate.parse("100/day")
    outcomes = await asyncio.gather(*(backend.hit("exact", FixedWindow(), limit) for _ in range(300)))
    assert sum(outcome.allowed for outcome in outcomes) == 100
    assert await _count_on(target, backend.namespace, "exact", limit) == 100  # counted on the new primary
