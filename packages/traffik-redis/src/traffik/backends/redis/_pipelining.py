"""Auto-pipelined hits: concurrent hits share a few connections, a few commands per write.

Kept connections (:mod:`traffik.backends.redis._connections`) carry one hit at a
time: every hit is its own write, its own wake-up and its own read. Yet hits are
many tiny, independent scripts, the ideal case for pipelining: here a few
connections, *lanes*, each carry any number of hits in flight. A hit appends
its packed command to a lane and waits on a future; the commands appended in
one event-loop turn leave together, :data:`WRITE_BATCH` to a write (Redis runs
the first ones while the rest are prepared), and one reader task per lane reads
the replies in order and hands each to the hit that is first in line (FIFO:
Redis answers the commands of one connection in the order it received them).

What each hit could count on with one connection to itself still holds:

* **One round trip, never retried.** A command is written once. When a lane
  fails (its reply did not come within the timeout, the socket broke), every
  hit waiting on it fails with that error (each may have run, so none is sent
  again), and the connection is disconnected; the next hits reconnect it.
* **Timeouts.** Reading a reply is bounded like a kept connection's read
  (redis-py's read timeout, or the backend's ``socket_timeout`` on a client
  passed in without one), and so are checking a connection out and connecting.
  Replies that keep coming are progress: only a silent server fails a lane.
* **Cancellation at any point.** A cancelled hit's reply is still read, in its
  turn, and dropped: no caller ever reads from the socket, so cancelling one
  cannot leave a reply for the next.
* **Commands sent as a pair stay a pair** (a counter's ``SET NX`` then
  ``INCRBY``, :meth:`PipelinedConnections.call_pair`): one unit of the write
  buffer, so on one lane, in order, in one write, moved together or not at all.
* **Connecting is redis-py's.** A lane's connection is connected with
  ``connection.connect()`` (handshake, Sentinel's answer to where the primary
  is now); one that the server closed while idle is reconnected before use.
* **A demoted primary is left.** ``READONLY`` (or redis-py's Sentinel
  translation of it) fails and disconnects every lane, so the next hits
  reconnect, through Sentinel when the client is Sentinel-managed.
* **A full pool is not a failure** while another lane is open: the commands
  queued for a lane that found no connection move to an open one.

Connections with a ``health_check_interval`` are not pipelined (redis-py's
health check reads a ``PING`` reply in the middle of the stream): the backend
keeps one connection per hit for them (see ``RedisBackend(auto_pipeline=...)``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Final

from traffik.backends.redis import _connections
from traffik.backends.redis._connections import connect_on_public_path
from traffik.backends.redis._lanes import Lane
from traffik.backends.redis._libraries import REDIS_PY, ClientErrors
from traffik.backends.redis._timeouts import pool_bounds_commands, shorter, within
from traffik.backends.redis._versions import checkout_takes_command_name, pool_is_full

from redis.asyncio.connection import AbstractConnection, ConnectionPool

__all__ = ["DEFAULT_LANES", "WRITE_BATCH", "PipelinedConnections", "pipelines"]

DEFAULT_LANES: Final = 1
"""Connections that carry pipelined hits at once. One is fastest: Redis runs one command at a time, and every
more connection splits the batches, hence more writes and wake-ups for the same hits."""


WRITE_BATCH: Final = 16
"""Commands a lane queues in one loop turn before it writes them without waiting for the turn's end.

Hits woken by one batch of replies queue their next commands one after another. Were they all
written at the turn's end, Redis would wait while the client prepares them, then the client
while Redis runs them. Written sixteen at a time, Redis runs the first ones while the client
prepares the rest: under 50 concurrent script hits that about doubled hits/s here, for a
write every sixteen commands (a lone hit on an idle lane is still written at once)."""


def pipelines(pool: ConnectionPool) -> bool:
    """Whether hits on ``pool``'s connections can be pipelined (no health check reads mid-stream)."""
    return not pool.connection_kwargs.get("health_check_interval")


class PipelinedConnections:
    """Up to ``lanes`` connections out of ``pool``, each carrying any number of pipelined commands.

    The same interface as :class:`~traffik.backends.redis._connections.KeptConnections`.

    Args:
        pool: The redis-py pool the connections come from (and go back to on :meth:`release_all`).
        limit: Most connections taken out of the pool.
        hit_timeout: Seconds that checking out or connecting a connection, and then waiting
            for each reply, may take, wherever the pool's own timeouts do not already
            bound them to that (``None``: only the pool's own timeouts apply).
        errors: The exception classes of the pool's library.
        lanes: Most connections carrying commands at once (at most ``limit``).
    """

    __slots__ = (
        "_ceiling",
        "_closed",
        "_dropped",
        "_errors",
        "_held",
        "_hit_timeout",
        "_lanes",
        "_legacy_get",
        "_max_lanes",
        "_read_timeout",
        "_spare",
        "encode",
        "limit",
        "pool",
    )

    def __init__(
        self,
        pool: ConnectionPool,
        limit: int,
        hit_timeout: float | None = None,
        errors: ClientErrors = REDIS_PY.errors,
        lanes: int = DEFAULT_LANES,
    ) -> None:
        self.pool = pool
        self.limit = limit
        self._errors = errors
        self._hit_timeout = None if pool_bounds_commands(pool, hit_timeout) else hit_timeout
        self._read_timeout = shorter(self._hit_timeout, pool.connection_kwargs.get("socket_timeout"))
        self._max_lanes = max(1, min(lanes, limit))
        self._ceiling = self._max_lanes  # lowered while the pool is full
        self._lanes: list[Lane] = []
        self._spare: list[AbstractConnection] = []  # out of the pool, between lanes
        self._held = 0
        self._closed = False
        self._dropped: asyncio.Future[Any] | None = None  # the pending entry of a reply read and dropped
        self._legacy_get = checkout_takes_command_name(pool)
        self.encode: Callable[[str], bytes] = pool.get_encoder().encode  # type: ignore[no-untyped-call]
        """Text to bytes as the client's own commands would encode it (its ``encoding`` setting)."""

    @property
    def held(self) -> int:
        """How many connections are out of the pool: carrying commands, or spare."""
        return self._held

    @property
    def hit_timeout(self) -> float | None:
        """The bound this object puts on each step itself (``None`` when the pool's timeouts do)."""
        return self._hit_timeout

    @property
    def in_flight(self) -> int:
        """Commands written or queued and not answered yet (cancelled ones included)."""
        return sum(len(lane.pending) for lane in self._lanes)

    @property
    def lanes(self) -> int:
        """Connections carrying commands now."""
        return len(self._lanes)

    def call(self, command: bytes) -> asyncio.Future[Any]:
        """Queue one packed command on a lane; the future gets its reply (redis-py's exceptions as errors)."""
        if self._closed:
            raise self._errors.connection("the backend was closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._submit(self._pick(), command, future)
        return future

    def call_pair(self, pair: bytes) -> asyncio.Future[Any]:
        """Queue two packed commands as one unit: one lane, in order, one write; the future gets the second's reply.

        The first's reply is read in its turn and dropped (its pending entry is a future already
        done, which readers and failures skip): the caller acts on the second's, or gets the first's
        error reply if only the first was refused. The pair is never
        resent, and Redis runs one client's buffered commands back to back, so a connection that
        fails after the first reply fails the second's caller too. (A future of its own would also
        need its exception retrieved whenever the caller is cancelled first.)
        """
        if self._closed:
            raise self._errors.connection("the backend was closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        dropped = self._dropped
        if dropped is None:
            dropped = self._dropped = loop.create_future()
            dropped.cancel()
        self._submit(self._pick(), pair, future, dropped)
        return future

    async def release_all(self) -> None:
        """Return the connections to the pool: idle lanes now, busy ones when their last reply is read."""
        self._closed = True
        loop = asyncio.get_running_loop()
        for lane in list(self._lanes):
            task = lane.task
            if task is not None and not task.done() and task.get_loop() is not loop:
                # Left on a former event loop that no longer runs it: nothing will read these.
                self._lanes.remove(lane)
                if lane.connection is not None:
                    self._spare.append(lane.connection)
            elif not lane.pending and task is not None:
                # Idle, in step: back to the pool now; its reader, waiting for work, just ends.
                self._lanes.remove(lane)
                if lane.connection is not None and lane.ready:
                    self._spare.append(lane.connection)
                    lane.connection = None
                task.cancel()
        spare, self._spare = self._spare, []
        for connection in spare:
            self._held -= 1
            await self.pool.release(connection)

    # -- choosing a lane and writing ---------------------------------------

    def _pick(self) -> Lane:
        """An idle lane, else a new one while there is room, else the least busy."""
        best: Lane | None = None
        for lane in self._lanes:
            if not lane.pending:
                return lane
            if best is None or len(lane.pending) < len(best.pending):
                best = lane
        if best is None or (len(self._lanes) < self._ceiling and self._held < self.limit):
            lane = Lane(self._errors)
            self._lanes.append(lane)
            lane.task = asyncio.get_running_loop().create_task(self._serve(lane))
            return lane
        return best

    def _submit(
        self, lane: Lane, command: bytes, future: asyncio.Future[Any], dropped: asyncio.Future[Any] | None = None
    ) -> None:
        """Queue ``command`` as one buffer entry; ``dropped``: it packs a first command, whose reply is dropped."""
        idle = not lane.pending
        if dropped is not None:
            lane.dropped = dropped
            lane.pending.append(dropped)
        lane.pending.append(future)
        streams = lane.streams
        if streams is None:  # connecting, or written by the reader (public path)
            lane.buffer.append(command)
        elif idle:
            # Alone on the lane: out at once (no added loop turn for a lone hit), unless the
            # server closed the socket while it sat idle: then the reader reconnects first.
            if _connections._open(streams):
                streams[1].write(command)
                if lane.timeout is not None:
                    lane.watch_from_now()
            else:
                lane.ready, lane.streams = False, None
                lane.buffer.append(command)
        else:
            buffer = lane.buffer
            buffer.append(command)
            if len(buffer) >= WRITE_BATCH:
                self._write_queued(lane)
            elif not lane.flush_due:
                lane.flush_due = True
                asyncio.get_running_loop().call_soon(self._flush, lane)
        if idle and lane.wake is not None and not lane.wake.done():
            lane.wake.set_result(None)

    def _flush(self, lane: Lane) -> None:
        """Write the commands queued in this loop turn (those :data:`WRITE_BATCH` did not send already)."""
        lane.flush_due = False
        self._write_queued(lane)

    def _write_queued(self, lane: Lane) -> None:
        """Write every command queued on the lane, as one write."""
        streams = lane.streams
        if lane.buffer and streams is not None:
            data = b"".join(lane.buffer)
            lane.buffer.clear()
            streams[1].write(data)

    # -- a lane's reader -----------------------------------------------------

    async def _serve(self, lane: Lane) -> None:
        """Connect the lane, then read its replies in order for as long as it lives."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not lane.pending:
                    if self._closed:
                        return
                    if lane.public:
                        lane.ready = False  # checked again before its next command, as the pool would
                    lane.wake = loop.create_future()
                    await lane.wake
                    lane.wake = None
                    continue
                if not lane.ready and not await self._connect(lane):
                    return
                if lane.public and lane.buffer:
                    assert lane.connection is not None
                    data = b"".join(lane.buffer)
                    lane.buffer.clear()
                    await lane.connection.send_packed_command(data, check_health=False)
                await lane.read(self._read_timeout)
        except BaseException as exc:
            if lane.timed_out and isinstance(exc, asyncio.CancelledError):  # cancelled by _check_progress
                self._fail(lane, self._errors.timeout(f"no reply from Redis within {lane.timeout} s"))
                return
            self._fail(lane, exc)
            if not isinstance(exc, Exception):
                raise  # cancelled (the loop is closing, or a demoted primary is being left)
        finally:
            await self._retire(lane)

    async def _connect(self, lane: Lane) -> bool:
        """Give the lane a connected connection and write what it queued; ``False``: moved elsewhere."""
        connection = lane.connection
        if connection is None:
            if self._spare:
                connection = self._spare.pop()
            else:
                self._held += 1
                try:
                    connection = await self._checkout()
                except BaseException as exc:
                    self._held -= 1
                    if pool_is_full(exc, self._errors) and self._move_to_open_lane(lane):
                        return False
                    raise
            lane.connection = connection
        connecting = connect_on_public_path(connection, _connections._streams(connection), self._errors)
        if self._hit_timeout is None:
            await connecting
        else:
            await within(self._hit_timeout, connecting, self._errors.timeout)
        lane.connected(connection, self._read_timeout)
        self._flush(lane)
        return True

    def _move_to_open_lane(self, lane: Lane) -> bool:
        """The pool is full: hand the lane's unwritten commands to an open lane, if there is one."""
        others = [other for other in self._lanes if other is not lane and other.ready]
        if not others:
            return False
        self._ceiling = max(1, len(others))
        self._lanes.remove(lane)
        target = min(others, key=lambda other: len(other.pending))
        pending, buffer = list(lane.pending), list(lane.buffer)
        lane.pending.clear()
        lane.buffer.clear()
        # Nothing was written on this lane: one buffer entry per submission, whose pending
        # entries are the dropped marker if it packs a pair, then its reply's future. A pair
        # moves whole while its second reply is awaited (its first is sent with it), else not at all.
        position, dropped = 0, self._dropped
        for command in buffer:
            paired = pending[position] is dropped
            future = pending[position + 1] if paired else pending[position]
            position += 2 if paired else 1
            if not future.done():
                self._submit(target, command, future, dropped if paired else None)
        assert position == len(pending)
        return True

    async def _checkout(self) -> AbstractConnection:
        get: Callable[..., Awaitable[AbstractConnection]] = self.pool.get_connection
        checkout = get("EVALSHA") if self._legacy_get else get()
        if self._hit_timeout is None:
            return await checkout
        return await within(self._hit_timeout, checkout, self._errors.timeout)

    def _fail(self, lane: Lane, exc: BaseException) -> None:
        """Fail every hit waiting on the lane: each may have run, so none is sent again."""
        if lane in self._lanes:
            self._lanes.remove(lane)  # new hits open a new lane
        lane.fail_waiting(exc, self._dropped)
        # READONLY (see Lane), or redis-py's Sentinel translation of it:
        if isinstance(exc.__cause__, self._errors.read_only) or isinstance(exc.__context__, self._errors.read_only):
            self._leave_demoted_primary(lane)

    def _leave_demoted_primary(self, failed: Lane) -> None:
        """The server answered ``READONLY``: every lane reconnects (Sentinel finds the new primary)."""
        for lane in list(self._lanes):
            if lane is not failed and lane.task is not None:
                lane.task.cancel()

    async def _retire(self, lane: Lane) -> None:
        """The lane is done: its connection is disconnected unless in step, then kept spare or given back."""
        if lane in self._lanes:
            self._lanes.remove(lane)
        connection, lane.connection = lane.connection, None
        if connection is None:
            return
        self._ceiling = self._max_lanes  # a connection is back: the pool may have room again
        if lane.failed and connection.is_connected:
            await connection.disconnect(nowait=True)
        if self._closed:
            self._held -= 1
            await self.pool.release(connection)
        else:
            self._spare.append(connection)
