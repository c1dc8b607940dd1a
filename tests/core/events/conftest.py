"""Fixtures for decision events: a recording observer, and a throttle's backend of each kind."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from starlette.requests import Request
from traffik import config
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import BackendErrorEvent, BreakerEvent, DecisionEvent, FailoverEvent, Observer
from traffik.events._dispatch import DISPATCH
from traffik.testing import MemcachedServer, RedisServer

_names = itertools.count()


class Recorder(Observer):
    """Keeps every event it is given."""

    def __init__(self) -> None:
        self.decisions: list[DecisionEvent] = []
        self.errors: list[BackendErrorEvent] = []
        self.failovers: list[FailoverEvent] = []
        self.breakers: list[BreakerEvent] = []

    def on_decision(self, event: DecisionEvent) -> None:
        self.decisions.append(event)

    def on_backend_error(self, event: BackendErrorEvent) -> None:
        self.errors.append(event)

    def on_failover(self, event: FailoverEvent) -> None:
        self.failovers.append(event)

    def on_breaker(self, event: BreakerEvent) -> None:
        self.breakers.append(event)


@pytest.fixture(autouse=True)
def _clean_settings() -> Iterator[None]:
    """No observer but the test's own, and the app-wide settings back to their defaults."""
    before, loaded = DISPATCH.observers, DISPATCH.plugins_loaded
    DISPATCH.observers, DISPATCH.plugins_loaded = (), True
    config.reset_config()
    yield
    DISPATCH.observers, DISPATCH.plugins_loaded = before, loaded
    config.reset_config()


@pytest.fixture
def recorder() -> Recorder:
    watcher = Recorder()
    DISPATCH.observers = (watcher,)
    return watcher


@pytest.fixture
def clock() -> ManualClock:
    """Frozen in the middle of a minute, so minute windows never roll over during a test."""
    return ManualClock(1_700_000_010_000.0)


def make_request(path: str = "/items", client: str = "203.0.113.7") -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": path, "headers": [], "query_string": b"", "client": (client, 5000)}
    )


BackendMaker = Callable[..., ThrottleBackend]


def _build(kind: str, url: str, servers: list[tuple[str, int]], clock: ManualClock, **options: Any) -> ThrottleBackend:
    namespace = f"events-{next(_names)}"
    if kind == "inmemory":
        return InMemoryBackend(namespace=namespace, clock=clock, cleanup_frequency=None, **options)
    if kind == "redis":
        from traffik.backends.redis import RedisBackend

        return RedisBackend(url, namespace=namespace, clock=clock, **options)
    from traffik.backends.memcached import MemcachedBackend

    return MemcachedBackend(servers, namespace=namespace, clock=clock, **options)


@pytest.fixture(params=["inmemory", "redis", "memcached"])
async def make_backend(request: pytest.FixtureRequest, clock: ManualClock) -> AsyncIterator[BackendMaker]:
    """``make_backend(**options)`` on the kind named by the parameter (shared session servers)."""
    kind: str = request.param
    url, servers = "", []
    if kind == "redis":
        redis: RedisServer = request.getfixturevalue("redis_server")
        url = redis.url
    elif kind == "memcached":
        memcached: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        servers = [server.address for server in memcached]
    made: list[ThrottleBackend] = []

    def make(**options: Any) -> ThrottleBackend:
        backend = _build(kind, url, servers, clock, **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.close()


@pytest.fixture(params=["redis", "memcached"])
def stoppable_backend(request: pytest.FixtureRequest, server_factory: Any, clock: ManualClock) -> tuple[Any, Any]:
    """``(backend, server)``: a shared-store backend on a private server the test may stop."""
    if request.param == "redis":
        redis = server_factory(RedisServer)
        return _build("redis", redis.url, [], clock, socket_timeout=0.5, connect_timeout=0.5), redis
    memcached = server_factory(MemcachedServer)
    return _build("memcached", "", [memcached.address], clock, timeout=0.5, connect_timeout=0.5), memcached
