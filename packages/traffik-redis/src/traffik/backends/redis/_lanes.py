"""One pipelined connection (a *lane*): the hits in flight on it, and how their replies are read.

:mod:`traffik.backends.redis._pipelining` decides which lane a hit takes, and
connects, fails and retires lanes; a :class:`Lane` reads its own replies and
hands each to the first hit in line. Replies are read one of two ways:

* **In batches** (recognised streams): whatever has arrived is read
  with one ``StreamReader.read`` and split by :mod:`~traffik.backends.redis._replies`,
  and one watchdog timer per lane (:meth:`Lane.watch_from_now`) fails the lane
  when no reply has come for its timeout, instead of a timer around every read.
* **Through redis-py** (``read_response``): for a redis-py whose streams this
  code does not recognise.

An error reply goes to its hit and the stream stays in step (an error reply to
the first command of a pair goes to the pair's caller, unless the second's reply is
an error too), except
``READONLY``: the server is a replica now, so the lane fails with a connection
error whose cause is the ``ReadOnlyError`` (the owner then leaves every lane).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Final

from traffik.backends.redis import _connections
from traffik.backends.redis._libraries import ClientErrors
from traffik.backends.redis._replies import ErrorReply, Reply, UnexpectedReply, split_replies
from traffik.backends.redis._timeouts import read_reply

from redis.asyncio.connection import AbstractConnection

__all__ = ["Lane"]

_CHUNK: Final = 1 << 16  # bytes read at once: hundreds of replies


class Lane:
    """One connection and the hits in flight on it, oldest first."""

    __slots__ = (
        "buffer",
        "connection",
        "dropped",
        "errors",
        "failed",
        "flush_due",
        "own_reads",
        "pair_error",
        "pending",
        "progress",
        "public",
        "ready",
        "rechecked",
        "rest",
        "streams",
        "task",
        "timed_out",
        "timeout",
        "timer",
        "wake",
    )

    def __init__(self, errors: ClientErrors) -> None:
        self.errors = errors
        self.connection: AbstractConnection | None = None
        # One per command written or queued; a reply nobody waits for has a future already done.
        self.pending: deque[asyncio.Future[Any]] = deque()
        # The pending entry of a pair's first reply, read and dropped (the owner's marker, see _submit).
        self.dropped: asyncio.Future[Any] | None = None
        # An error reply to a pair's first command: the pair's caller gets it (see _answer_with_error).
        self.pair_error: Exception | None = None
        self.buffer: list[bytes] = []  # commands not written yet
        self.ready = False  # connected, and checked since it last sat idle
        self.streams: _connections._Streams | None = None  # while ready, if recognised
        self.public = False  # ready, streams not recognised: written through send_packed_command
        self.flush_due = False
        self.failed = False
        self.wake: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.own_reads = False  # replies read in batches (else through read_response)
        self.rest = b""  # the start of a reply not complete yet
        self.timeout: float | None = None  # seconds without a reply before the lane fails
        self.progress = 0.0  # loop time of the last reply, or of the first command after idling
        self.timer: asyncio.Handle | None = None
        self.timed_out = False
        self.rechecked = False  # a late check gave the reader one more turn

    def connected(self, connection: AbstractConnection, read_timeout: float | None) -> None:
        """``connection`` is connected and checked: choose how to write and read it from now on."""
        self.ready = True
        self.streams = _connections._streams(connection)
        self.public = self.streams is None  # a redis-py that renamed them: slower, still correct
        self.own_reads = not self.public
        self.rest = b""
        self.pair_error = None
        if self.own_reads:
            self.timeout = read_timeout if read_timeout is not None else connection.socket_timeout
            if self.pending:
                self.watch_from_now()

    async def read(self, read_timeout: float | None) -> None:
        """Read the next reply or replies and hand each to its hit (a cancelled one's is dropped)."""
        if self.own_reads:
            await self._read_batch()
        else:
            await self._read_one(read_timeout)

    async def _read_batch(self) -> None:
        streams, connection = self.streams, self.connection
        assert streams is not None
        assert connection is not None
        data = await streams[0].read(_CHUNK)
        if not data:
            raise self.errors.connection("Redis closed the connection")
        if self.rest:
            data = self.rest + data
        replies: list[Reply] = []
        try:
            used = split_replies(data, replies)
        except UnexpectedReply as exc:
            raise self.errors.connection(str(exc)) from exc
        self.rest = data[used:]
        if not replies:
            return
        self.progress = asyncio.get_running_loop().time()
        pending = self.pending
        for reply in replies:
            if not pending:
                raise self.errors.connection("Redis sent a reply that no command waits for")
            future = pending.popleft()
            if type(reply) is ErrorReply:
                self._answer_with_error(future, _error_of(connection, reply, self.errors))
            elif self.pair_error is not None:
                self._answer_with_pair_error(future)
            elif not future.done():
                future.set_result(reply)

    async def _read_one(self, read_timeout: float | None) -> None:
        connection = self.connection
        assert connection is not None
        try:
            reply = await read_reply(connection, read_timeout, self.errors)
        except self.errors.response as exc:  # an error reply: the connection is in step
            self._answer_with_error(self.pending.popleft(), exc)
            return
        future = self.pending.popleft()
        if self.pair_error is not None:
            self._answer_with_pair_error(future)
        elif not future.done():
            future.set_result(reply)

    def _answer_with_error(self, future: asyncio.Future[Any], error: Exception) -> None:
        if future is self.dropped:
            # A pair's first command was refused: its caller, whose reply comes next, gets this
            # error even if the second command ran (a counter's SET NX refused where its INCRBY is
            # not, for an ACL user without SET, would otherwise leave a count without a TTL).
            self.pair_error = error
        else:
            self.pair_error = None  # a pair's second reply is an error too: its caller gets that one
            if not future.done():
                future.set_exception(error)
        if isinstance(error, self.errors.read_only):
            raise self.errors.connection(f"Redis is a read-only replica now ({error})") from error

    def _answer_with_pair_error(self, future: asyncio.Future[Any]) -> None:
        """``future``'s command, a pair's second, ran; the first was refused: the caller gets the refusal."""
        error, self.pair_error = self.pair_error, None
        if error is not None and not future.done():
            future.set_exception(error)

    def fail_waiting(self, exc: BaseException, dropped: asyncio.Future[Any] | None) -> None:
        """Fail every hit waiting on this lane with ``exc`` or an error caused by it: each may have run."""
        self.failed, self.ready, self.streams, self.pair_error = True, False, None, None
        self.stop_watching()
        pending = list(self.pending)
        self.pending.clear()
        self.buffer.clear()
        kind = self.errors.timeout if isinstance(exc, self.errors.timeout) else self.errors.connection
        if isinstance(exc, Exception):
            message = f"the connection failed while this hit waited for its reply: {exc}"
        else:
            message = "the connection was dropped while this hit waited for its reply"
        # The hit whose reply was being read gets the error itself: the first, or a pair's second
        # (the first entry is then the pair's dropped marker, its reply not read yet).
        head = 1 if len(pending) > 1 and pending[0] is dropped else 0
        for position, future in enumerate(pending):
            if position == head and isinstance(exc, Exception) and not future.done():
                future.set_exception(exc)
            elif not future.done():
                failure = kind(message)
                failure.__cause__ = exc
                future.set_exception(failure)

    def watch_from_now(self) -> None:
        """Commands are in flight from now on: fail the lane if no reply comes within its timeout."""
        loop = asyncio.get_running_loop()
        self.progress = loop.time()
        if self.timer is None and self.timeout is not None:
            self.timer = loop.call_at(self.progress + self.timeout, self._check_progress)

    def _check_progress(self) -> None:
        """The watchdog: one timer per timeout period, not one per reply."""
        self.timer = None
        task, timeout = self.task, self.timeout
        if not self.pending or task is None or task.done() or timeout is None or not self.ready:
            return
        loop = asyncio.get_running_loop()
        silent = loop.time() - self.progress
        if silent < timeout:
            self.rechecked = False
            self.timer = loop.call_at(self.progress + timeout, self._check_progress)
        elif silent > 1.5 * timeout and not self.rechecked:
            # This check itself ran late: the event loop was held up, and replies may have
            # arrived meanwhile, their reader's turn queued just before this one. Give it that
            # turn (see traffik.backends.redis._timeouts.fired_late): a silent server fails next time.
            self.rechecked = True
            self.timer = loop.call_soon(self._check_progress)
        else:
            self.timed_out = True  # the reader, cancelled, fails the hits with a timeout
            task.cancel()

    def stop_watching(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


def _error_of(connection: AbstractConnection, reply: ErrorReply, errors: ClientErrors) -> Exception:
    """The exception redis-py raises for an error reply (its parser's own mapping, where recognised)."""
    parse = getattr(getattr(connection, "_parser", None), "parse_error", None)
    if parse is not None:
        error = parse(str(reply))
        if isinstance(error, Exception):
            return error
    if reply.startswith("NOSCRIPT"):
        return errors.no_script(reply)
    if reply.startswith("READONLY"):
        return errors.read_only(reply)
    return errors.response(reply)
