"""The connections a :class:`~traffik.backends.redis.RedisBackend` keeps for its hits.

A hit is one ``EVALSHA``. Sent through ``Redis.execute_command``, every one of
them would also check a connection out of the pool and back in (a lock, a
socket probe, observability records, a retry wrapper) and, under a socket
timeout, write through ``asyncio.wait_for`` (a task and two more event-loop
turns): together more client time than the round trip itself. So the backend
takes connections out of the client's pool once and keeps them: a hit pops an
idle one, writes its packed command, reads the reply and pushes it back.

Kept connections stay on redis-py's public path for everything but the write
of a command on an open, idle socket:

* **Connecting is redis-py's.** A connection that is not connected is
  connected with ``connection.connect()``: the client's handshake (``AUTH``,
  ``SELECT``, ``HELLO``), its retry policy and, for a Sentinel-managed client,
  the question to Sentinel of where the primary is now.
* **A closed socket is noticed before use.** Like the pool at checkout, an
  idle connection the server closed (restart, ``CLIENT KILL``, idle timeout)
  is disconnected before its next command, which then reconnects. The check
  reads the connection's streams when it recognises them (no await: this runs
  on every hit); when it does not (a redis-py that renamed them), it asks
  redis-py's own ``can_read()`` instead, so a rename only costs speed.
* **Health checks are redis-py's.** A connection with a
  ``health_check_interval`` sends through ``send_packed_command``, which pings
  when the interval has passed.
* **A reply is never left unread.** A hit interrupted anywhere (timeout, lost
  socket, cancellation, a failed handshake) leaves its connection
  disconnected, as redis-py's ``read_response`` does; the next hit reconnects
  it. An error *reply* (``NOSCRIPT``) leaves it in step. Commands written
  together (a counter's ``SET NX`` and ``INCRBY``) have every reply read, and
  an error reply to the first fails the caller even when the last succeeds.
* **A demoted primary is left.** ``READONLY`` (or redis-py's Sentinel
  translation of it, "The previous master is now a slave") means the server
  behind these connections is a replica now: the connection and every idle one
  are disconnected, so the next hits reconnect, through Sentinel when the
  client is Sentinel-managed.
* **At most ``limit`` connections.** More concurrent hits wait, first come
  first served, for one to come back. Waiting is not failing: a queue that
  moves is only contention, however long it is, so waiting has no timeout of
  its own. What ends it is evidence that Redis is down: when a command fails
  (timeout, connection error) and Redis sent no reply on any kept connection
  since that command began, the waiting ones fail at once with the same kind
  of error, rather than each taking its turn to time out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from traffik.backends.redis._libraries import REDIS_PY, ClientErrors
from traffik.backends.redis._timeouts import (
    fired_late,
    longest_pool_timeout,
    longest_timeout,
    pool_bounds_commands,
    read_reply,
    shorter,
    within,
)
from traffik.backends.redis._versions import checkout_takes_command_name, closed_or_dirty, pool_is_full

from redis.asyncio.connection import AbstractConnection, ConnectionPool

__all__ = ["KeptConnections", "connect_on_public_path"]


class KeptConnections:
    """Up to ``limit`` connections checked out of ``pool`` once and reused for every command.

    Args:
        pool: The redis-py pool the connections come from (and go back to on :meth:`release_all`).
        limit: Most connections kept, hence most commands in flight at once.
        hit_timeout: Seconds that checking out or connecting a connection, and then waiting
            for a reply, may each take, wherever the pool's own timeouts do not already
            bound them to that (``None``: only the pool's own timeouts apply).
        errors: The exception classes of the pool's library (valkey-py has its own), which
            the connections raise and the waiting commands are failed with.
    """

    __slots__ = (
        "_answered",
        "_checkout_bound",
        "_closed",
        "_errors",
        "_failures",
        "_get_connection",
        "_held",
        "_hit_timeout",
        "_idle",
        "_legacy_get",
        "_read_timeout",
        "_silent_at",
        "_waiters",
        "encode",
        "limit",
        "pool",
    )

    def __init__(
        self, pool: ConnectionPool, limit: int, hit_timeout: float | None = None, errors: ClientErrors = REDIS_PY.errors
    ) -> None:
        self.pool = pool
        self.limit = limit
        self._errors = errors
        self._failures = (errors.connection, errors.timeout, OSError)  # what may show Redis down
        self._hit_timeout = None if pool_bounds_commands(pool, hit_timeout) else hit_timeout
        self._checkout_bound = self._hit_timeout or longest_pool_timeout(pool)
        # Reads are bounded through redis-py's own read timeout (no timer of ours on the hot
        # path); the client's own socket_timeout still wins where it is shorter.
        self._read_timeout = shorter(self._hit_timeout, pool.connection_kwargs.get("socket_timeout"))
        self._idle: list[AbstractConnection] = []
        self._waiters: deque[asyncio.Future[AbstractConnection | None]] = deque()
        self._silent_at = -1  # _answered when a checkout last timed out
        self._answered = 0  # replies received: how a failure tells a dead server from a slow command
        self._held = 0
        self._closed = False
        self._legacy_get = checkout_takes_command_name(pool)
        self._get_connection: Callable[..., Awaitable[AbstractConnection]] = pool.get_connection
        self.encode: Callable[[str], bytes] = pool.get_encoder().encode  # type: ignore[no-untyped-call]
        """Text to bytes as the client's own commands would encode it (its ``encoding`` setting)."""

    @property
    def held(self) -> int:
        """How many connections are out of the pool: idle here or carrying a command."""
        return self._held

    @property
    def hit_timeout(self) -> float | None:
        """The bound this object puts on each command itself (``None`` when the pool's timeouts do)."""
        return self._hit_timeout

    async def call(self, command: bytes, replies: int = 1) -> Any:
        """Send packed commands on a kept connection and return the last one's reply (redis-py's exceptions propagate).

        ``command`` may pack ``replies`` commands, written at once: the replies before the last are
        read and dropped. An error reply among them is raised once the last reply is read (the
        connection stays in step), unless the last is an error too: a counter's ``SET NX`` refused
        where its ``INCRBY`` is not (an ACL user without ``SET``) would otherwise go unnoticed,
        leaving counters without a TTL.
        """
        connection = self._idle.pop() if self._idle else await self._acquire()
        answered, started = self._answered, asyncio.get_running_loop().time()
        try:
            reply = await self._exchange(connection, command, replies)
            self._answered += 1
            return reply
        except self._failures as exc:
            if not fired_late(exc, started, self._hit_timeout or longest_timeout(connection), self._errors.timeout):
                self._after_failure(exc, answered)
            raise
        finally:
            await self._give_back(connection)

    def call_pair(self, pair: bytes) -> Awaitable[Any]:
        """Two packed commands in one write on one connection: the second's reply (the first's is read, dropped)."""
        return self.call(pair, 2)

    async def release_all(self) -> None:
        """Return the idle connections to the pool; those still in use go back when their command ends."""
        self._closed = True
        closed = self._errors.pool_full or self._errors.connection
        idle, self._idle = self._idle, []
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(closed("the backend was closed while this hit waited"))
        self._waiters.clear()
        for connection in idle:
            self._held -= 1
            await self.pool.release(connection)

    async def _exchange(self, connection: AbstractConnection, command: bytes, replies: int) -> Any:
        try:
            streams = _streams(connection)
            if streams is not None and _open(streams) and not connection.health_check_interval:
                streams[1].write(command)  # see _open: the transport sends it at once
            elif self._hit_timeout is None:
                await _send_on_public_path(connection, command, streams, self._errors)
            else:
                sending = _send_on_public_path(connection, command, streams, self._errors)
                await within(self._hit_timeout, sending, self._errors.timeout)
            dropped_error = await self._drop_replies(connection, replies - 1) if replies > 1 else None
            reply = await read_reply(connection, self._read_timeout, self._errors)
            if dropped_error is not None:
                raise dropped_error  # the last command ran, but one before it was refused (see call)
            return reply
        except self._errors.response as exc:  # the last reply, an error: the connection is in step
            if isinstance(exc, self._errors.read_only):
                await self._leave_demoted_primary(connection)
            raise
        except BaseException as exc:
            # Interrupted (timeout, lost socket, cancellation, a failed handshake): the
            # socket may be out of step, so it is never reused. redis-py has usually
            # disconnected it already; not on every version for every step.
            if connection.is_connected:
                await connection.disconnect(nowait=True)
            if isinstance(exc.__context__, self._errors.read_only):  # redis-py's Sentinel translation of READONLY
                await self._leave_demoted_primary(connection)
            raise

    async def _drop_replies(self, connection: AbstractConnection, count: int) -> Exception | None:
        """Read the next ``count`` replies and drop them; the first error reply among them, if any.

        Interrupted: see ``_exchange``. A dropped ``READONLY`` is met again: the last command,
        refused by the replica too, answers it.
        """
        refused: Exception | None = None
        for _ in range(count):
            try:
                await read_reply(connection, self._read_timeout, self._errors)
            except self._errors.response as exc:  # in step: the last reply is still read
                refused = refused or exc
        return refused

    async def _leave_demoted_primary(self, connection: AbstractConnection) -> None:
        """The server answered ``READONLY``: every connection to it reconnects (Sentinel finds the new primary)."""
        if connection.is_connected:
            await connection.disconnect(nowait=True)
        idle, self._idle = self._idle, []
        for other in idle:
            await other.disconnect(nowait=True)
            await self._give_back(other)

    def _after_failure(self, exc: BaseException, answered: int) -> None:
        """Fail the waiting commands if ``exc`` shows Redis down: no reply came since the failed command began.

        Waiting out each one's own timeout, a connection at a time, would hold the
        last of a long queue for many timeouts. A demoted primary is not down:
        its connections reconnect to the new one. Nor is a timeout that fired
        late (see :func:`~traffik.backends.redis._timeouts.fired_late`).
        """
        errors = self._errors
        if self._answered != answered or not self._waiters or isinstance(exc.__context__, errors.read_only):
            return
        waiters, self._waiters = self._waiters, deque()
        kind = errors.timeout if isinstance(exc, errors.timeout) else errors.connection
        message = f"a command just failed with no reply from Redis since it began ({exc}); this one waited for it"
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(kind(message))

    async def _acquire(self) -> AbstractConnection:
        while self._held < self.limit:
            self._held += 1
            answered, started = self._answered, asyncio.get_running_loop().time()
            try:
                connection = await self._checkout()
            except BaseException as exc:
                self._held -= 1
                full = pool_is_full(exc, self._errors)
                failed = isinstance(exc, self._failures)
                if failed and not full and not fired_late(exc, started, self._checkout_bound, self._errors.timeout):
                    self._after_checkout_failure(exc, answered)
                # The application's own use filled a pool we share: wait for one of ours.
                if self._held == 0 or not full:
                    raise
                break
            self._answered += 1  # a handshake answered: Redis is there
            return connection
        while True:
            handed = await self._wait()
            if handed is not None:
                return handed
            # Woken to take the place of a checkout that failed.
            if self._held < self.limit:
                return await self._acquire()

    def _after_checkout_failure(self, exc: BaseException, answered: int) -> None:
        """Like :meth:`_after_failure`, but a first connect timeout may be this machine's, not Redis's.

        Under CPU pressure a connect can miss its timeout while Redis is fine. A
        first one only hands its place to a waiting command; a second one with no
        answer from Redis in between is evidence enough.
        """
        if isinstance(exc, self._errors.timeout) and self._answered == answered and self._silent_at != answered:
            self._silent_at = answered
        else:
            self._after_failure(exc, answered)
        self._offer_place()

    def _offer_place(self) -> None:
        """A place is free (a checkout failed): the first waiting command takes it."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _checkout(self) -> AbstractConnection:
        checkout = self._get_connection("EVALSHA") if self._legacy_get else self._get_connection()
        # Bounded as a whole, the pool's own wait included: redis-py 5.1 to 7 connect under the
        # pool's lock, one at a time, so a checkout queued behind connects to a silent server
        # would otherwise wait out each of theirs before its own.
        if self._checkout_bound is None:
            return await checkout
        return await within(self._checkout_bound, checkout, self._errors.timeout)

    async def _wait(self) -> AbstractConnection | None:
        """A connection handed over, or ``None``: a failed checkout left a place to try for."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[AbstractConnection | None] = loop.create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except BaseException:
            # Cancelled after a connection was handed over: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is not None:
                    await self._give_back(handed)
                else:
                    self._offer_place()
            raise

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


_Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _streams(connection: AbstractConnection) -> _Streams | None:
    """The connected socket's streams, or ``None`` when not connected or not recognised.

    redis-py keeps them in private attributes. ``None`` sends the hit down the
    public path, so a redis-py that renames them makes hits slower, never
    skips a check (``tests/redis/test_connections.py`` checks they are found).
    """
    reader = getattr(connection, "_reader", None)
    writer = getattr(connection, "_writer", None)
    if isinstance(reader, asyncio.StreamReader) and isinstance(writer, asyncio.StreamWriter):
        return reader, writer
    return None


def _open(streams: _Streams) -> bool:
    """Whether the server has not closed the socket (nor has it failed) since its last command.

    The pool makes a like check on every checkout. Without it, the first hit
    after a Redis restart would fail on a socket the server had already closed.
    When it holds, the command is handed to the transport, which sends it at
    once: ``send_packed_command`` would do the same, but under a socket timeout
    through ``asyncio.wait_for`` (a task and two more event-loop turns per
    command). No wait is needed: a kept connection carries one small command at
    a time, so the transport's buffer never fills, and a dead socket surfaces
    when the reply is read.
    """
    reader, writer = streams
    return not (reader.at_eof() or reader.exception() is not None or writer.transport.is_closing())


async def _send_on_public_path(
    connection: AbstractConnection, command: bytes, streams: _Streams | None, errors: ClientErrors
) -> None:
    """Make ``connection`` ready and send ``command`` with redis-py's public API only."""
    await connect_on_public_path(connection, streams, errors)
    await connection.send_packed_command(command)  # pings first when a health check is due


async def connect_on_public_path(
    connection: AbstractConnection, streams: _Streams | None, errors: ClientErrors
) -> None:
    """Make ``connection`` ready for a command: reconnected if the server closed it, connected if not.

    Only redis-py's public API connects (``streams`` only speeds up the check for a closed socket).
    """
    if connection.is_connected:
        stale = not _open(streams) if streams is not None else await closed_or_dirty(connection, errors)
        if stale:
            await connection.disconnect()
    if not connection.is_connected:
        # connect(), not send_packed_command's own reconnect: from redis-py 6 on, that one
        # skips SentinelManagedConnection.connect() and so never asks Sentinel where the
        # primary went.
        await connection.connect()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
