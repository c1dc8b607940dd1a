"""The connections a :class:`~traffik.backends.redis.RedisBackend` keeps for its hits.

A hit is one ``EVALSHA``. Sent through ``Redis.execute_command``, every one of
them would also check a connection out of the pool and back in (a lock, a
socket probe, observability records, a retry wrapper) and, under a socket
timeout, write through ``asyncio.wait_for`` (a task and two more event-loop
turns): together more client time than the round trip itself. So the backend
takes connections out of the client's pool once and keeps them: a hit pops an
idle one, writes its packed command, reads the reply and pushes it back.

Three rules keep a kept connection safe to reuse:

* **A reply is never left unread.** Writing never waits, so a hit can only be
  interrupted (timeout, lost socket, cancellation) while reading, and
  redis-py's ``read_response`` then disconnects the connection; the next hit
  reconnects it. A connection that comes back here is either in step with the
  server or closed; an error *reply* (``NOSCRIPT``) leaves it in step.
* **A closed socket is noticed before use.** Like the pool at checkout, an
  idle connection the server closed (restart, ``CLIENT KILL``, idle timeout)
  is disconnected before its next command, which then reconnects.
* **At most ``limit`` connections.** More concurrent hits wait, first come
  first served, for one to come back (bounded by ``wait_timeout``), instead of
  opening connections until the pool refuses with "Too many connections".
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import MaxConnectionsError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = ["KeptConnections"]


def _takes_command_name(pool: ConnectionPool) -> bool:
    """redis-py before 5.3 requires ``get_connection(command_name)``; later versions warn when given it."""
    parameter = inspect.signature(pool.get_connection).parameters.get("command_name")
    return parameter is not None and parameter.default is inspect.Parameter.empty


class KeptConnections:
    """Up to ``limit`` connections checked out of ``pool`` once and reused for every command.

    Args:
        pool: The redis-py pool the connections come from (and go back to on :meth:`release_all`).
        limit: Most connections kept, hence most commands in flight at once.
        wait_timeout: Seconds a command may wait for a free connection (``None``: no limit).
    """

    __slots__ = (
        "_closed",
        "_get_connection",
        "_held",
        "_idle",
        "_legacy_get",
        "_waiters",
        "encode",
        "limit",
        "pool",
        "wait_timeout",
    )

    def __init__(self, pool: ConnectionPool, limit: int, wait_timeout: float | None) -> None:
        self.pool = pool
        self.limit = limit
        self.wait_timeout = wait_timeout
        self._idle: list[AbstractConnection] = []
        self._waiters: deque[asyncio.Future[AbstractConnection]] = deque()
        self._held = 0
        self._closed = False
        self._legacy_get = _takes_command_name(pool)
        self._get_connection: Callable[..., Awaitable[AbstractConnection]] = pool.get_connection
        self.encode: Callable[[str], bytes] = pool.get_encoder().encode  # type: ignore[no-untyped-call]
        """Text to bytes as the client's own commands would encode it (its ``encoding`` setting)."""

    @property
    def held(self) -> int:
        """How many connections are out of the pool: idle here or carrying a command."""
        return self._held

    async def call(self, command: bytes) -> Any:
        """Send one packed command on a kept connection and return its reply (redis-py's exceptions propagate)."""
        connection = self._idle.pop() if self._idle else await self._acquire()
        try:
            if _closed_while_idle(connection):
                await connection.disconnect()  # the next write reconnects it
            writer = getattr(connection, "_writer", None) if connection.is_connected else None
            if isinstance(writer, asyncio.StreamWriter):
                _write(writer, command)
            else:
                await connection.send_packed_command(command, check_health=False)
            return await connection.read_response()
        finally:
            await self._give_back(connection)

    async def release_all(self) -> None:
        """Return the idle connections to the pool; those still in use go back when their command ends."""
        self._closed = True
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(MaxConnectionsError("the backend was closed while this hit waited"))
        self._waiters.clear()
        for connection in idle:
            self._held -= 1
            await self.pool.release(connection)

    async def _acquire(self) -> AbstractConnection:
        if self._held < self.limit:
            self._held += 1
            try:
                if self._legacy_get:
                    return await self._get_connection("EVALSHA")
                return await self._get_connection()
            except MaxConnectionsError:
                # The application's own use filled a pool we share: wait for one of ours.
                self._held -= 1
                if self._held == 0:
                    raise
            except BaseException:
                self._held -= 1
                raise
        return await self._wait()

    async def _wait(self) -> AbstractConnection:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AbstractConnection] = loop.create_future()
        self._waiters.append(waiter)
        expiry = None
        if self.wait_timeout is not None:
            expiry = loop.call_later(self.wait_timeout, _expire, waiter, self.limit, self.wait_timeout)
        try:
            return await waiter
        except BaseException:
            # Cancelled after a connection was handed over: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                await self._give_back(waiter.result())
            raise
        finally:
            if expiry is not None:
                expiry.cancel()

    async def _give_back(self, connection: AbstractConnection) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        if self._closed:
            self._held -= 1
            await self.pool.release(connection)
            return
        self._idle.append(connection)


def _closed_while_idle(connection: AbstractConnection) -> bool:
    """Whether the server closed ``connection`` (or it failed) since its last command.

    The pool makes a like check on every checkout. Without it, the first hit
    after a Redis restart would fail on a socket the server had already closed.
    The stream's own state is read, the same on every redis-py version and
    parser, and without an await: this runs on every hit.
    """
    reader = getattr(connection, "_reader", None) if connection.is_connected else None
    return isinstance(reader, asyncio.StreamReader) and (reader.at_eof() or reader.exception() is not None)


def _write(writer: asyncio.StreamWriter, command: bytes) -> None:
    """Hand a command to a connected socket's transport, which sends it at once.

    ``send_packed_command`` does the same, but under a socket timeout it wraps
    the write in ``asyncio.wait_for``: a task and two more event-loop turns per
    command, about a third of a bare round trip's client time. No wait is needed:
    a kept connection carries one small command at a time, so the transport's
    buffer never fills, and a dead socket surfaces when the reply is read.
    """
    writer.write(command)


def _expire(waiter: asyncio.Future[AbstractConnection], limit: int, seconds: float) -> None:
    if not waiter.done():
        waiter.set_exception(
            RedisTimeoutError(f"all {limit} connections stayed busy for {seconds} s (max_connections={limit})")
        )
