"""The one module that talks to memcached: typed commands with timeouts, on aiomcache's pool.

aiomcache provides the connection pool (:class:`aiomcache.pool.MemcachePool`).
The commands are spoken here rather than through ``aiomcache.Client``, whose
methods do not fit a rate limiter's failure needs:

* a connection closed mid-reply makes its simple-command loop spin without
  ever yielding (``readline()`` returns ``b""`` forever), which freezes the
  event loop instead of failing;
* a command cancelled by a timeout returns its connection to the pool with
  the reply still unread, so the next command on it reads a stale answer;
* ``incr`` on a missing key raises, and closes the connection, where a
  counter needs a plain "not found".

Here every exchange that does not finish cleanly (timeout, cancellation,
broken or unexpected reply) discards its connection, every step of I/O is
bounded (``connect_timeout`` to connect, ``timeout`` for a command), and
failures surface as :class:`~traffik.exceptions.BackendConnectionError` or
:class:`~traffik.exceptions.BackendTimeoutError`. Waiting for a free
connection is contention, not failure: it has no timeout of its own, and ends
early only when the server shows itself down (:mod:`._gate`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from aiomcache.pool import Connection, MemcachePool
from traffik.backends.memcached._errors import NonNumericValueError
from traffik.backends.memcached._gate import ConnectionGate
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError

__all__ = [
    "MemcachedClient",
    "ProtocolError",
    "StaleConnection",
    "read_counter",
    "read_deleted",
    "read_stats",
    "read_stored",
    "read_value",
    "read_version",
]

T = TypeVar("T")

_END: Final = b"END\r\n"
_STORED: Final = b"STORED\r\n"
_NOT_STORED_REPLIES: Final = (b"NOT_STORED\r\n", b"EXISTS\r\n", b"NOT_FOUND\r\n")
_NOT_FOUND: Final = b"NOT_FOUND\r\n"


if sys.version_info >= (3, 11):

    async def _bounded(awaitable: Awaitable[T], seconds: float) -> T:
        # asyncio.timeout cancels in place; wait_for would wrap every command in a new task.
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover  # Python 3.10

    async def _bounded(awaitable: Awaitable[T], seconds: float) -> T:
        return await asyncio.wait_for(awaitable, seconds)


class StaleConnection(Exception):
    """The connection was closed under a command (server gone or restarted) before the server saw it."""


class ProtocolError(Exception):
    """The server answered something this client does not expect."""


async def read_line(conn: Connection) -> bytes:
    line = await conn.reader.readline()
    if not line.endswith(b"\r\n"):
        # readline() only stops short of the terminator at end of stream.
        raise ConnectionResetError("memcached closed the connection")
    if line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
        raise ProtocolError(line.decode("ascii", "replace").strip())
    return line


class MemcachedClient:
    """Commands for one memcached server, each bounded by a timeout.

    Keys must already be valid memcached keys (see :mod:`._keys`).

    Args:
        host: Server host.
        port: Server port.
        pool_size: Most connections kept open to the server.
        timeout: Seconds one command may take once it has a connection.
        connect_timeout: Seconds to connect (waiting for a free connection is not bounded: see
            :mod:`traffik.backends.memcached._gate`).
    """

    __slots__ = ("_gate", "_loop", "_pool", "connect_timeout", "host", "pool_size", "port", "timeout")

    def __init__(self, host: str, port: int, *, pool_size: int, timeout: float, connect_timeout: float) -> None:
        self.host = host
        self.port = port
        self.pool_size = pool_size
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool, self._gate = self._new_pool()

    def _new_pool(self) -> tuple[MemcachePool, ConnectionGate]:
        # MemcachePool only opens connections up to `minsize` (it never grows past
        # it on demand), so min = max: `pool_size` connections, opened at first use.
        pool = MemcachePool(self.host, self.port, minsize=self.pool_size, maxsize=self.pool_size)
        # A FIFO gate in front admits only as many commands as there are connections,
        # so the pool's own queue (not first come first served) never makes anyone wait.
        return pool, ConnectionGate(self.pool_size)

    def _follow_loop(self) -> None:
        """Start a new pool when used from a new event loop.

        Connections belong to the loop that opened them; a backend used from a
        new loop (each ``asyncio.run``, a ``TestClient`` without ``with``, a
        fresh loop per test) leaves the old pool behind, its sockets closed
        when it is collected.
        """
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None:
                self._pool, self._gate = self._new_pool()
            self._loop = loop

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    async def close(self) -> None:
        """Close the idle connections; a later command opens a new one."""
        self._follow_loop()
        await self._pool.clear()

    # -- commands -------------------------------------------------------------

    async def get(self, key: bytes) -> bytes | None:
        """The value of ``key``, or ``None``."""
        value, _ = await self._call(b"get " + key + b"\r\n", read_value)
        return value

    async def gets(self, key: bytes) -> tuple[bytes | None, int | None]:
        """The value of ``key`` and its CAS token, or ``(None, None)``."""
        return await self._call(b"gets " + key + b"\r\n", read_value)

    async def add(self, key: bytes, value: bytes, exptime: int) -> bool:
        """Store ``value`` only if ``key`` is absent; ``True`` if stored."""
        return await self._call(_storage(b"add", key, value, exptime), read_stored)

    async def set(self, key: bytes, value: bytes, exptime: int) -> bool:
        """Store ``value`` unconditionally; ``True`` if stored."""
        return await self._call(_storage(b"set", key, value, exptime), read_stored)

    async def cas(self, key: bytes, value: bytes, token: int, exptime: int) -> bool:
        """Store ``value`` only if ``key`` still has CAS token ``token``; ``True`` if stored."""
        return await self._call(_storage(b"cas", key, value, exptime, token), read_stored)

    async def incr(self, key: bytes, delta: int) -> int | None:
        """Add ``delta`` to the counter ``key``; its new value, or ``None`` if absent."""
        return await self._call(b"incr %b %d\r\n" % (key, delta), read_counter)

    async def decr(self, key: bytes, delta: int) -> int | None:
        """Subtract ``delta`` from the counter ``key`` (floored at 0); its new value, or ``None``."""
        return await self._call(b"decr %b %d\r\n" % (key, delta), read_counter)

    async def delete(self, key: bytes) -> bool:
        """Delete ``key``; ``True`` if it existed."""
        return await self._call(b"delete " + key + b"\r\n", read_deleted)

    async def stats(self) -> dict[str, str]:
        """The server's ``stats`` (for benchmarks and diagnostics)."""
        return await self._call(b"stats\r\n", read_stats)

    async def version(self) -> str:
        """The server's version string (a cheap liveness probe)."""
        return await self._call(b"version\r\n", read_version)

    # -- the exchange -----------------------------------------------------------

    def _call(self, request: bytes, read: Callable[[Connection], Awaitable[T]]) -> Awaitable[T]:
        """Send ``request`` and read its reply with ``read`` (a subclass may carry it another way)."""
        return self._call_pooled(request, read)

    async def _call_pooled(self, request: bytes, read: Callable[[Connection], Awaitable[T]]) -> T:
        try:
            return await self._call_once(request, read)
        except StaleConnection:
            # A pooled connection whose server went away (restarted, or closed it
            # while idle) fails at once, before the server saw the request: try
            # once more on a fresh connection. A dead server then refuses it quickly.
            try:
                return await self._call_once(request, read)
            except StaleConnection as exc:
                raise BackendConnectionError(f"memcached {self.address}: connection lost: {exc}") from exc

    async def _call_once(self, request: bytes, read: Callable[[Connection], Awaitable[T]]) -> T:
        self._follow_loop()
        pool, gate = self._pool, self._gate
        await gate.enter()  # contention: no timeout (see ConnectionGate)
        loop = asyncio.get_running_loop()
        answered, started = gate.answered, loop.time()
        try:
            # Connects when the pool has fewer than pool_size connections; else takes an idle one at once.
            conn = await _bounded(pool.acquire(), self.connect_timeout)
        except BaseException as exc:
            gate.leave()
            if isinstance(exc, asyncio.TimeoutError):
                error: BackendError = BackendTimeoutError(
                    f"memcached {self.address}: cannot connect within {self.connect_timeout:g} s"
                )
            elif isinstance(exc, OSError):
                error = BackendConnectionError(f"memcached {self.address}: cannot connect: {exc}")
            else:
                raise  # cancellation and the like pass through untouched
            gate.after_failure(error, answered, loop.time() - started, self.connect_timeout, self.address)
            if isinstance(exc, asyncio.TimeoutError):
                raise error from None
            raise error from exc
        answered, started = gate.answered, loop.time()
        try:
            result = await _bounded(_exchange(conn, request, read), self.timeout)
        except BaseException as exc:
            # The reply may still be on its way: this connection is out of step
            # with the server and must never serve another command.
            conn.reader.set_exception(ConnectionAbortedError("abandoned mid-command"))
            _release(pool, gate, conn)
            if isinstance(exc, (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError)):
                raise StaleConnection(repr(exc)) from exc
            translated = self._translate(exc)
            if translated is None:
                raise  # cancellation and the like pass through untouched
            gate.after_failure(translated, answered, loop.time() - started, self.timeout, self.address)
            raise translated from exc
        gate.answered += 1
        _release(pool, gate, conn)
        return result

    def _translate(self, exc: BaseException) -> BackendError | None:
        if isinstance(exc, asyncio.TimeoutError):
            return BackendTimeoutError(f"memcached {self.address}: no reply within {self.timeout:g} s")
        if isinstance(exc, (OSError, asyncio.IncompleteReadError)):
            return BackendConnectionError(f"memcached {self.address}: connection lost: {exc!r}")
        if isinstance(exc, ProtocolError):
            if "non-numeric" in str(exc):
                return NonNumericValueError(f"memcached {self.address}: {exc}")
            return BackendError(f"memcached {self.address}: {exc}")
        return None


def _release(pool: MemcachePool, gate: ConnectionGate, conn: Connection) -> None:
    pool.release(conn)
    gate.leave()


async def _exchange(conn: Connection, request: bytes, read: Callable[[Connection], Awaitable[T]]) -> T:
    conn.writer.write(request)
    await conn.writer.drain()
    return await read(conn)


def _storage(command: bytes, key: bytes, value: bytes, exptime: int, token: int | None = None) -> bytes:
    header = b"%b %b 0 %d %d" % (command, key, exptime, len(value))
    if token is not None:
        header += b" %d" % token
    return header + b"\r\n" + value + b"\r\n"


async def read_value(conn: Connection) -> tuple[bytes | None, int | None]:
    line = await read_line(conn)
    if line == _END:
        return None, None
    terms = line.split()
    if len(terms) < 4 or terms[0] != b"VALUE":
        raise ProtocolError(f"unexpected reply to get: {line!r}")
    data = await conn.reader.readexactly(int(terms[3]) + 2)
    token = int(terms[4]) if len(terms) > 4 else None
    if await read_line(conn) != _END:
        raise ProtocolError("more than one value for one key")
    return data[:-2], token


async def read_stored(conn: Connection) -> bool:
    line = await read_line(conn)
    if line == _STORED:
        return True
    if line in _NOT_STORED_REPLIES:
        return False
    raise ProtocolError(f"unexpected reply to a storage command: {line!r}")


async def read_counter(conn: Connection) -> int | None:
    line = await read_line(conn)
    if line == _NOT_FOUND:
        return None
    digits = line[:-2].strip()
    if not digits.isdigit():
        raise ProtocolError(f"unexpected reply to incr/decr: {line!r}")
    return int(digits)


async def read_deleted(conn: Connection) -> bool:
    line = await read_line(conn)
    if line == b"DELETED\r\n":
        return True
    if line == _NOT_FOUND:
        return False
    raise ProtocolError(f"unexpected reply to delete: {line!r}")


async def read_stats(conn: Connection) -> dict[str, str]:
    stats: dict[str, str] = {}
    while (line := await read_line(conn)) != _END:
        _, name, value = line.decode("ascii", "replace").rstrip("\r\n").split(" ", 2)
        stats[name] = value
    return stats


async def read_version(conn: Connection) -> str:
    line = await read_line(conn)
    if not line.startswith(b"VERSION "):
        raise ProtocolError(f"unexpected reply to version: {line!r}")
    return line[8:-2].decode("ascii", "replace")
