"""Pipelined commands: concurrent hits share one connection per server, one write per event-loop turn.

With a pool (:mod:`._client`) every command holds a connection of its own for a
round trip: its own write, its own wake-up, its own read. Memcached's text
protocol answers the commands of one connection in the order it received them,
so any number of commands can be in flight on one connection and their replies
matched first in, first out. Here a *lane* is one plain asyncio connection to a
server (opened with the backend's host, port and ``connect_timeout``; aiomcache
is not involved): a command appends its bytes to the lane and waits on a
future; the commands appended in one event-loop turn leave as one write, and
the lane's protocol parses the replies as they arrive and hands each to the
command first in line.

What each command could count on with a connection to itself still holds:

* **Exactness.** Runners send the same commands as before (``incr``/``add``
  for ``FixedWindow``, ``gets``/``cas`` for the others); only the transport
  changes.
* **Timeouts.** Every command has a deadline, ``timeout`` after it was queued.
  A lane whose first waiting command passes its deadline without a reply fails
  *every* command waiting on it with
  :class:`~traffik.exceptions.BackendTimeoutError` and is dropped (each may
  have run, so none is sent again); the next command opens a new lane. Replies
  that keep coming are progress: only a silent server fails a lane. A timer
  that fires late because the event loop was held up first lets the loop read
  what arrived meanwhile.
* **Cancellation at any point.** A cancelled caller's reply is still parsed in
  its turn and dropped: no caller ever reads from the socket, so the lane never
  gets out of step.
* **Reconnects.** A lane the server closed (a restart) is dropped at once. The
  commands written after its last reply are sent once more on a new lane, as a
  command on a pooled connection found dead is (a restarted server never saw
  them); the others fail with
  :class:`~traffik.exceptions.BackendConnectionError`.
* **Error replies.** ``incr`` on a value that is not a counter fails only its
  command; any other error reply fails its command and drops the lane, whose
  stream may hold bytes nobody can match any more.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from traffik.backends.memcached._client import MemcachedClient, ProtocolError, StaleConnection
from traffik.backends.memcached._errors import NonNumericValueError
from traffik.backends.memcached._replies import PARSERS, Parser
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError

__all__ = ["PipelinedClient"]

T = TypeVar("T")


class _Command:
    __slots__ = ("deadline", "future", "mark", "parse")

    def __init__(self, future: asyncio.Future[Any], parse: Parser, deadline: float, mark: int) -> None:
        self.future, self.parse, self.deadline, self.mark = future, parse, deadline, mark


class Lane(asyncio.Protocol):
    """One connection carrying any number of commands in flight (see the module docstring).

    Args:
        address: ``host:port``, for messages.
        timeout: Seconds a command waits for its reply.
    """

    def __init__(self, address: str, timeout: float) -> None:
        self.address, self.timeout = address, timeout
        self.loop = asyncio.get_running_loop()
        self.open = False
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: deque[_Command] = deque()
        self._outgoing: list[bytes] = []
        self._received = 0
        """Replies parsed: a command written after the last reply and lost with the lane never reached a server."""
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_due = 0.0
        self._graced = False
        self._closed: asyncio.Future[None] = self.loop.create_future()

    @property
    def in_flight(self) -> int:
        """Commands waiting for their reply."""
        return len(self._waiting)

    # -- asyncio.Protocol -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport, self.open = transport, True

    def data_received(self, data: bytes) -> None:
        buf = self._buffer
        buf += data
        pos, waiting = 0, self._waiting
        while waiting:
            command = waiting[0]
            parsed = command.parse(buf, pos)
            if parsed is None:
                break
            waiting.popleft()
            reply, pos = parsed
            self._received += 1
            future = command.future
            if isinstance(reply, ProtocolError):
                if not future.done():
                    future.set_exception(self._translate(reply))
                if "non-numeric" not in str(reply):
                    # Any other error reply may leave unread bytes behind: the lane is out of step.
                    del buf[:pos]
                    self._fail(BackendConnectionError(f"memcached {self.address}: dropped after an error reply"))
                    return
            elif not future.done():  # a caller that gave up: its reply is read and dropped
                future.set_result(reply)
        if pos:
            del buf[:pos]
        if buf and not waiting:
            self._fail(BackendConnectionError(f"memcached {self.address}: a reply nobody asked for: {bytes(buf)!r}"))

    def eof_received(self) -> bool:
        return False  # close the transport: connection_lost fails what is left

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._fail(StaleConnection(repr(exc) if exc else "closed by the server"))
        if not self._closed.done():
            self._closed.set_result(None)

    # -- commands ----------------------------------------------------------------

    def send(self, request: bytes, parse: Parser) -> asyncio.Future[Any]:
        """Queue ``request`` for this turn's write; the future gets its reply."""
        future = self.loop.create_future()
        deadline = self.loop.time() + self.timeout
        self._waiting.append(_Command(future, parse, deadline, self._received))
        if not self._outgoing:
            self.loop.call_soon(self._flush)
        self._outgoing.append(request)
        if self._watchdog is None:
            self._arm(deadline)
        return future

    def _flush(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if self.open and self._transport is not None:
            self._transport.write(b"".join(outgoing))

    def _arm(self, when: float) -> None:
        self._graced = False
        self._watchdog_due = when
        self._watchdog = self.loop.call_at(when, self._check)

    def _check(self) -> None:
        self._watchdog = None
        if not self._waiting:
            return
        now = self.loop.time()
        head = self._waiting[0].deadline
        if head > now:
            self._arm(head)  # the commands that were due got their replies
        elif now - self._watchdog_due > self.timeout / 2 and not self._graced:
            # The loop was held up: read what arrived meanwhile (the next turn polls the
            # socket before it runs this timer) before declaring the server silent.
            self._graced = True
            self._watchdog = self.loop.call_later(0, self._check)
        else:
            self._fail(BackendTimeoutError(f"memcached {self.address}: no reply within {self.timeout:g} s"))

    def _fail(self, error: BaseException) -> None:
        """Fail every waiting command with ``error`` and drop the connection."""
        self.open = False
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        waiting, self._waiting = self._waiting, deque()
        self._outgoing = []
        received = self._received
        for command in waiting:
            if command.future.done():
                continue
            if isinstance(error, StaleConnection) and command.mark != received:
                # The server answered something after this command was written: it may have run.
                command.future.set_exception(
                    BackendConnectionError(f"memcached {self.address}: connection lost: {error}")
                )
            else:
                command.future.set_exception(error)
        if self._transport is not None:
            self._transport.abort()

    def _translate(self, error: ProtocolError) -> BackendError:
        if "non-numeric" in str(error):
            return NonNumericValueError(f"memcached {self.address}: {error}")
        return BackendError(f"memcached {self.address}: {error}")

    async def aclose(self) -> None:
        """Close the connection (commands still waiting fail) and wait until it is closed."""
        if self._transport is not None:
            self._fail(BackendConnectionError(f"memcached {self.address}: connection closed by the backend"))
            if not self._closed.done():
                # The socket is aborted at once; this only waits for asyncio to report it (one turn).
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(self._closed), self.timeout)


class PipelinedClient(MemcachedClient):
    """A :class:`~traffik.backends.memcached._client.MemcachedClient` whose commands share one pipelined lane.

    Same commands, same errors and timeouts; ``pool_size`` is not used.
    """

    __slots__ = ("_lane", "_lane_loop", "_opening")

    def __init__(self, host: str, port: int, *, pool_size: int, timeout: float, connect_timeout: float) -> None:
        super().__init__(host, port, pool_size=pool_size, timeout=timeout, connect_timeout=connect_timeout)
        self._lane: Lane | None = None
        self._lane_loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[Lane] | None = None

    def _call(self, request: bytes, read: Callable[[Any], Awaitable[T]]) -> Awaitable[T]:
        return self._exchange(request, PARSERS[read])

    async def _exchange(self, request: bytes, parse: Parser) -> Any:
        lane = self._lane
        if lane is None or not lane.open or lane.loop is not asyncio.get_running_loop():
            lane = await self._open_lane()
        try:
            return await lane.send(request, parse)
        except StaleConnection:
            # Closed by the server before it saw this command (a restart): once more on a new lane.
            lane = await self._open_lane()
            try:
                return await lane.send(request, parse)
            except StaleConnection as exc:
                raise BackendConnectionError(f"memcached {self.address}: connection lost: {exc}") from exc

    async def _open_lane(self) -> Lane:
        loop = asyncio.get_running_loop()
        if self._lane_loop is not loop:
            # Connections belong to the loop that opened them: a new loop starts afresh
            # (the old loop's lane is closed by its collection, as the pool's connections).
            self._lane, self._opening, self._lane_loop = None, None, loop
        lane = self._lane
        if lane is not None and lane.open:
            return lane
        opening = self._opening
        if opening is None:
            opening = self._opening = loop.create_task(self._connect())
            opening.add_done_callback(self._opened)
        # Shielded: a caller that gives up does not cancel the connect the others wait for.
        return await asyncio.shield(opening)

    def _opened(self, task: asyncio.Task[Lane]) -> None:
        if self._opening is task:
            self._opening = None
        if not task.cancelled() and task.exception() is None:
            self._lane = task.result()

    async def _connect(self) -> Lane:
        loop = asyncio.get_running_loop()
        try:
            _, lane = await asyncio.wait_for(
                loop.create_connection(lambda: Lane(self.address, self.timeout), self.host, self.port),
                self.connect_timeout,
            )
        except asyncio.TimeoutError:
            raise BackendTimeoutError(
                f"memcached {self.address}: cannot connect within {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise BackendConnectionError(f"memcached {self.address}: cannot connect: {exc}") from exc
        return lane

    async def close(self) -> None:
        """Close the lane (and the pool's idle connections); a later command opens a new one."""
        lane, self._lane = self._lane, None
        if lane is not None and lane.loop is asyncio.get_running_loop():
            await lane.aclose()
        await super().close()
