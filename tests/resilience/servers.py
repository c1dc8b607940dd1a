"""Backends on private servers with short timeouts, and a small Starlette app that runs one throttle."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.exceptions import BackendError
from traffik.registry import ThrottleRegistry
from traffik.strategies import TokenBucket
from traffik.testing import MemcachedServer, RedisServer, ServerFactory, ServerProcess

Kind = Literal["memcached", "redis"]

CALL_TIMEOUT = 0.3
"""Seconds any backend call of this suite may take (the throttle's bound)."""
SLACK = 0.25
"""Scheduling slack allowed on top of the timeout on a shared 2-core machine."""
LIMIT = 5
RATE = f"{LIMIT}/min"
# A token bucket refills one token every 12 s at 5/min: no refill during a test.
STRATEGY = TokenBucket()

KINDS = [
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
]


def start_server(kind: Kind, factory: ServerFactory) -> ServerProcess:
    """A private server for one test (it may be paused or killed)."""
    if kind == "memcached":
        return factory(MemcachedServer)
    return factory(RedisServer)


def make_backend(kind: Kind, address: tuple[str, int], namespace: str = "resilience") -> ThrottleBackend:
    """A backend on ``address`` whose every call gives up after :data:`CALL_TIMEOUT`."""
    backend: ThrottleBackend
    if kind == "memcached":
        backend = MemcachedBackend([address], namespace=namespace, timeout=0.25, connect_timeout=0.25)
    else:
        host, port = address
        backend = RedisBackend(
            f"redis://{host}:{port}/0", namespace=namespace, socket_timeout=0.25, connect_timeout=0.25
        )
    # The per-backend override traffik._error_policy.backend_timeout reads (neither backend declares it).
    vars(backend)["call_timeout"] = CALL_TIMEOUT
    return backend


@dataclass
class Outcome:
    status: int
    seconds: float


@dataclass
class App:
    """A one-route app guarded by ``throttle``; backend errors that surface become 503."""

    throttle: HTTPThrottle
    surfaced: list[BaseException] = field(default_factory=list)

    def build(self) -> Starlette:
        async def endpoint(request: Request) -> PlainTextResponse:
            await self.throttle.hit(request)
            return PlainTextResponse("ok")

        async def on_backend_error(request: Request, exc: Exception) -> JSONResponse:
            self.surfaced.append(exc)
            return JSONResponse({"error": type(exc).__name__}, status_code=503)

        return Starlette(routes=[Route("/", endpoint)], exception_handlers={BackendError: on_backend_error})


@asynccontextmanager
async def client_for(
    backend: ThrottleBackend, on_error: Any, uid: str = "resilience"
) -> AsyncIterator[tuple[App, Callable[[str], Any]]]:
    """An app around a throttle on ``backend`` and a ``get(client_ip) -> Outcome`` function.

    The transport re-raises any exception the app did not handle, so a test
    fails if one ever reaches the server.
    """
    throttle = HTTPThrottle(
        uid, rate=RATE, backend=backend, strategy=STRATEGY, on_error=on_error, registry=ThrottleRegistry()
    )
    app = App(throttle)
    asgi = app.build()

    async def get(client_ip: str) -> Outcome:
        transport = httpx.ASGITransport(app=asgi, raise_app_exceptions=True, client=(client_ip, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.perf_counter()
            response = await client.get("/")
            return Outcome(response.status_code, time.perf_counter() - started)

    await backend.initialize()
    try:
        yield app, get
    finally:
        await backend.close()


async def wait_until_answering(backend: ThrottleBackend, limit_s: float = 3.0) -> float:
    """Seconds until a direct peek on ``backend`` succeeds again (fails the test after ``limit_s``)."""
    from traffik.rates import Rate

    started = time.perf_counter()
    rate = Rate.parse(RATE)
    while True:
        try:
            await asyncio.wait_for(backend.peek("probe", STRATEGY, rate), CALL_TIMEOUT)
        except (BackendError, TimeoutError):
            elapsed = time.perf_counter() - started
            if elapsed > limit_s:
                pytest.fail(f"{backend!r} still failing {elapsed:.2f} s after the server came back")
            await asyncio.sleep(0.02)
            continue
        return time.perf_counter() - started


def leaked_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    """Tasks started since ``before`` that are still alive (the current one excluded)."""
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() - before if task is not current and not task.done()}


def open_connections(kind: Kind, server: ServerProcess) -> int:
    """Client connections the server holds open, not counting the one asking."""
    with socket.create_connection(server.address, timeout=2.0) as sock:
        if kind == "redis":
            sock.sendall(b"INFO clients\r\n")
            text = _read_until(sock, b"\r\n\r\n")
            (line,) = [ln for ln in text.splitlines() if ln.startswith("connected_clients:")]
            return int(line.split(":", 1)[1]) - 1
        sock.sendall(b"stats\r\n")
        text = _read_until(sock, b"END\r\n")
        (line,) = [ln for ln in text.splitlines() if ln.startswith("STAT curr_connections ")]
        return int(line.rsplit(" ", 1)[1]) - 1


def _read_until(sock: socket.socket, end: bytes) -> str:
    data = b""
    while not data.endswith(end) and end not in data[-len(end) - 2 :]:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


async def connections_after_close(kind: Kind, server: ServerProcess, within_s: float = 1.0) -> int:
    """Open client connections once the server has had ``within_s`` to notice closed sockets."""
    deadline = time.perf_counter() + within_s
    count = open_connections(kind, server)
    while count and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        count = open_connections(kind, server)
    return count
