"""Fixtures shared by every test: real Redis and Memcached servers.

The servers are real processes on free loopback ports (see :mod:`traffik.testing`).
With pytest-xdist each worker starts its own set, so workers never share data.

A missing ``redis-server`` or ``memcached`` fails the test when the ``CI``
environment variable is set (CI must run every backend test) and skips it
locally, in both cases with a message that names the Debian package to install.

Fault tests (pause, kill, restart) must not touch the session-wide servers,
which other tests of the same worker use: they take a private one from
``server_factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest
from traffik.testing import (
    MemcachedServer,
    RedisServer,
    ServerFactory,
    ServerProcess,
    stop_all,
)
from traffik.testing._pytest_servers import start_servers

ServerT = TypeVar("ServerT", bound=ServerProcess)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` shared by the tests of this worker; do not pause or kill it."""
    server = RedisServer()
    start_servers([server])
    yield server
    server.stop()


@pytest.fixture(scope="session")
def memcached_servers() -> Iterator[tuple[MemcachedServer, MemcachedServer]]:
    """Two ``memcached`` processes shared by the tests of this worker; do not pause or kill them."""
    servers = (MemcachedServer(), MemcachedServer())
    start_servers(list(servers))
    yield servers
    stop_all(servers)


@pytest.fixture
def server_factory() -> Iterator[ServerFactory]:
    """Private servers for one test, stopped at its end: ``server_factory(RedisServer)``."""
    started: list[ServerProcess] = []

    def start(build: Callable[[], ServerT]) -> ServerT:
        server = build()
        started.append(server)
        start_servers([server])
        return server

    yield start
    stop_all(started)
