"""One fixture, three backends: in-memory, Redis and Memcached on the session servers."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.testing import MemcachedServer, RedisServer

Kind = Literal["inmemory", "redis", "memcached"]

ALL_KINDS = [
    pytest.param("inmemory", marks=pytest.mark.inmemory, id="inmemory"),
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
]

_names = itertools.count()


def unique_namespace() -> str:
    return f"badinput-{next(_names)}"


SHARED_KINDS = ALL_KINDS[1:]


@pytest.fixture(params=ALL_KINDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[ThrottleBackend]:
    """A fresh backend of each kind, in its own namespace, cleared and closed afterwards."""
    async for made in _make(request, request.param):
        yield made


@pytest.fixture(params=SHARED_KINDS)
async def shared_backend(request: pytest.FixtureRequest) -> AsyncIterator[ThrottleBackend]:
    """A fresh Redis or Memcached backend (stores other software can write into)."""
    async for made in _make(request, request.param):
        yield made


async def _make(request: pytest.FixtureRequest, kind: Kind) -> AsyncIterator[ThrottleBackend]:
    made: ThrottleBackend
    if kind == "inmemory":
        made = InMemoryBackend(unique_namespace(), cleanup_frequency=None)
    elif kind == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        made = RedisBackend(server.url, namespace=unique_namespace())
    else:
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        made = MemcachedBackend([s.address for s in servers], namespace=unique_namespace())
    await made.initialize()
    yield made
    await made.clear()
    await made.close()
