"""The raw-socket figure: a minimal Redis client writing one ``EVALSHA`` per round trip, from 50 connections.

Each of :data:`CONNECTIONS` connections is a bare :class:`asyncio.Protocol`
that writes a pre-encoded ``EVALSHA`` of ``return 1``, waits for its reply
(``:1``) and writes the next one: no client library, no per-command work, but
still one write, one wake-up and one read per command. It is what 50 tasks
could reach if the client cost nothing and every hit stayed its own round trip,
the figure auto-pipelining must beat by sending commands ready together as one
write. It runs in this process, like the other Redis figures.
"""

from __future__ import annotations

import asyncio
import functools
import time
from typing import Final
from urllib.parse import urlsplit

from benchmarks._timing import spread

__all__ = ["CONNECTIONS", "raw_evalsha_rate"]

CONNECTIONS: Final = 50
_FLOOR_SCRIPT: Final = b"return 1"


def _resp(*parts: bytes) -> bytes:
    """A command in RESP (an array of bulk strings)."""
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


class _Caller(asyncio.Protocol):
    """One connection sending ``command`` ``count`` times, each after the previous reply."""

    def __init__(self, command: bytes, count: int, done: asyncio.Future[None]) -> None:
        self._command = command
        self._left = count
        self._done = done
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def start(self) -> None:
        assert self._transport is not None
        if self._left:
            self._transport.write(self._command)
        elif not self._done.done():
            self._done.set_result(None)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        # Integer replies (":1\r\n"), one per command; an error reply ("-...") ends the run.
        while (end := self._buffer.find(b"\r\n")) >= 0:
            reply, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
            if not reply.startswith(b":"):
                if not self._done.done():
                    self._done.set_exception(RuntimeError(f"Redis answered {reply[:80]!r}"))
                return
            self._left -= 1
            self.start()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._done.done():
            self._done.set_exception(RuntimeError(f"Redis closed the connection: {exc!r}"))


async def _sha(host: str, port: int) -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(_resp(b"SCRIPT", b"LOAD", _FLOOR_SCRIPT))
        reply = await reader.readline()
        if not reply.startswith(b"$"):
            raise RuntimeError(f"SCRIPT LOAD answered {reply[:80]!r}")
        return (await reader.readline()).strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def _run(host: str, port: int, command: bytes, per_connection: int) -> float:
    """Hits per second of one run: every connection sends ``per_connection`` commands."""
    loop = asyncio.get_running_loop()
    callers: list[tuple[asyncio.Transport, _Caller, asyncio.Future[None]]] = []
    try:
        for _ in range(CONNECTIONS):
            done: asyncio.Future[None] = loop.create_future()
            transport, caller = await loop.create_connection(
                functools.partial(_Caller, command, per_connection, done), host, port
            )
            callers.append((transport, caller, done))
        started = time.perf_counter()
        for _, caller, _ in callers:
            caller.start()
        await asyncio.wait_for(asyncio.gather(*(done for _, _, done in callers)), timeout=60)
        return per_connection * CONNECTIONS / (time.perf_counter() - started)
    finally:
        for transport, _, _ in callers:
            transport.close()


async def raw_evalsha_rate(url: str, operations: int, repeats: int) -> dict[str, float] | None:
    """``EVALSHA`` of ``return 1`` per second over :data:`CONNECTIONS` raw connections (median, min, max).

    Args:
        url: ``redis://host:port`` of a Redis without a password (the run's loopback server).
        operations: Commands per timed run, spread over the connections.
        repeats: Timed runs, after one warm-up run.

    Returns:
        The rates, or ``None`` for a server this minimal client cannot speak to
        (TLS, a password, a Unix socket: a ``--redis-url`` of the user's).
    """
    where = urlsplit(url)
    if where.scheme != "redis" or where.password or where.username:
        return None
    host, port = where.hostname or "127.0.0.1", where.port or 6379
    sha = await _sha(host, port)
    command = _resp(b"EVALSHA", sha, b"1", b"bench:raw")
    per_connection = max(1, operations // CONNECTIONS)
    await _run(host, port, command, max(1, per_connection // 10))
    rates = [await _run(host, port, command, per_connection) for _ in range(repeats)]
    return spread(rates, 0)
