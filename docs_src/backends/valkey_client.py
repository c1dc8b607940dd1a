"""A valkey-py client passed as the url.

valkey-py is a fork of redis-py: its asyncio clients are used like redis-py's,
one round trip per hit, with its own exceptions recognised.
"""

from __future__ import annotations

import asyncio
import os
import uuid

from traffik.backends.redis import RedisBackend
from traffik.exceptions import BackendConnectionError
from traffik.rates import Rate
from traffik.strategies import FixedWindow
from valkey.asyncio import Valkey

# valkey-py reads redis:// (and valkey://) URLs: Valkey and Redis speak the same
# protocol.
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


async def hits_with_a_valkey_client() -> list[bool]:
    client = Valkey.from_url(REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)
    backend = RedisBackend(
        client, namespace=f"api-{uuid.uuid4().hex[:8]}", persistent=True
    )
    try:
        # start-up check and scripts loaded; persistent: the data outlives a deploy
        async with backend:
            rate = Rate.parse("2/min")
            return [
                (await backend.hit("alice", FixedWindow(), rate)).allowed
                for _ in range(3)
            ]
    finally:
        await client.aclose()  # the application's client: the backend never closes it


async def a_dead_server_is_a_backend_error() -> str:
    # Nothing listens on port 1: valkey-py's ConnectionError becomes a
    # BackendConnectionError, which on_error handles as it would for redis-py.
    client = Valkey(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    backend = RedisBackend(client, namespace="down", persistent=True)
    try:
        await backend.hit("alice", FixedWindow(), Rate.parse("2/min"))
    except BackendConnectionError as exc:
        return type(exc.__cause__).__module__
    finally:
        await backend.close()
        await client.aclose()
    raise AssertionError("a hit on a dead server must fail")


def main() -> None:
    assert asyncio.run(hits_with_a_valkey_client()) == [True, True, False]
    assert asyncio.run(a_dead_server_is_a_backend_error()) == "valkey.exceptions"
