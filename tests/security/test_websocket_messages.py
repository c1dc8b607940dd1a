"""Per-message WebSocket limits are exact: ``allow()`` consumes and decides in one call.

Thirty sockets share one key (one user's tabs, or one user on several
workers) and send their messages at the same time. ``allow()`` must let exactly
the limit through and answer every other message with the rate-limit frame;
the old recipe (``check()`` then ``hit()``) raced between its two round trips
and processed anything from 4 to 27 of 30 messages against a limit of 3.

The sockets are driven at the ASGI level, concurrently on one event loop, so
their backend calls interleave as they do in a server.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect
from traffik import WebSocketThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.registry import ThrottleRegistry
from traffik.testing import MemcachedServer, RedisServer

SOCKETS = 30
MESSAGES_PER_SOCKET = 3
LIMIT = 10
# An hour-long window: a loaded machine never sees it end during the test (the clock is frozen anyway).
RATE = f"{LIMIT}/hour"
STORE_TIMEOUT = 5.0

BACKENDS = [
    pytest.param("inmemory", marks=pytest.mark.inmemory, id="inmemory"),
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
]


@pytest.fixture
async def shared_backend(request: pytest.FixtureRequest) -> AsyncIterator[ThrottleBackend]:
    clock = ManualClock(1_700_000_000_000.0)
    namespace = f"ws-allow-{uuid.uuid4().hex[:12]}"
    backend: ThrottleBackend
    if request.param == "inmemory":
        backend = InMemoryBackend(namespace, cleanup_frequency=None, clock=clock)
    elif request.param == "memcached":
        servers: tuple[MemcachedServer, MemcachedServer] = request.getfixturevalue("memcached_servers")
        backend = MemcachedBackend(
            [server.address for server in servers],
            namespace=namespace,
            clock=clock,
            timeout=STORE_TIMEOUT,
            connect_timeout=STORE_TIMEOUT,
        )
    else:
        redis: RedisServer = request.getfixturevalue("redis_server")
        backend = RedisBackend(
            redis.url, namespace=namespace, clock=clock, socket_timeout=STORE_TIMEOUT, connect_timeout=STORE_TIMEOUT
        )
    await backend.initialize()
    yield backend
    await backend.clear()
    await backend.close()


def chat_app(messages: WebSocketThrottle) -> Starlette:
    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                if await messages.allow(websocket):
                    await websocket.send_json({"type": "echo", "text": text})
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/chat", chat)])


async def run_socket(app: Starlette, number: int) -> list[dict[str, Any]]:
    """One client: connect, send its messages, disconnect; returns the JSON frames it received."""
    incoming: asyncio.Queue[Message] = asyncio.Queue()
    await incoming.put({"type": "websocket.connect"})
    for index in range(MESSAGES_PER_SOCKET):
        await incoming.put({"type": "websocket.receive", "text": f"{number}-{index}"})
    await incoming.put({"type": "websocket.disconnect", "code": 1000})
    frames: list[dict[str, Any]] = []

    async def send(message: Message) -> None:
        if message["type"] == "websocket.send":
            frames.append(json.loads(message["text"]))

    scope = {
        "type": "websocket",
        "path": "/chat",
        "raw_path": b"/chat",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [],
        "client": (f"10.0.0.{number}", 50_000),
        "server": ("testserver", 80),
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }
    await app(scope, incoming.get, send)
    return frames


@pytest.mark.parametrize("shared_backend", BACKENDS, indirect=True)
async def test_sockets_sharing_a_key_process_exactly_the_limit(shared_backend: ThrottleBackend) -> None:
    messages = WebSocketThrottle(
        "ws:shared-messages",
        rate=RATE,
        backend=shared_backend,
        identifier=lambda websocket: "one-user",
        registry=ThrottleRegistry(),
    )
    app = chat_app(messages)

    replies = await asyncio.gather(*(run_socket(app, number) for number in range(SOCKETS)))

    frames = [frame for socket_frames in replies for frame in socket_frames]
    assert len(frames) == SOCKETS * MESSAGES_PER_SOCKET  # every message got one answer
    echoes = [frame for frame in frames if frame["type"] == "echo"]
    denials = [frame for frame in frames if frame["type"] == "rate_limit"]
    assert len(echoes) == LIMIT
    assert len(denials) == SOCKETS * MESSAGES_PER_SOCKET - LIMIT
    assert all(frame["error"] == "Too many messages" and frame["retry_after"] >= 1 for frame in denials)
