"""How many commands are in flight to one memcached server at once, and who waits for a turn.

A :class:`~traffik.backends.memcached._client.MemcachedClient` keeps
``pool_size`` connections per server. More concurrent commands wait for a
place, first come first served (aiomcache's pool alone hands connections out
through an ``asyncio.Queue``, where a task that releases and at once
re-acquires can overtake a woken waiter again and again).

Waiting is not failing: a queue that moves is only contention, however long
it is, so waiting has no timeout of its own (the connect and each command
have theirs). What ends a wait is evidence that the server is down: when a
command fails (timeout, lost connection) and the server sent no reply on any
connection since that command began, the waiting commands fail at once with
the same kind of error, rather than each taking its turn to time out. A
timeout that fired well after its bound is not such evidence: the event loop
was held up (a burst of work in one turn delays every timer due meanwhile, and
replies already received wait unread behind it), so it fails only its own
command.
"""

from __future__ import annotations

import asyncio
from collections import deque

from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError

__all__ = ["ConnectionGate"]

_LATE: float = 1.5
"""A timeout that fires after this many times its bound says the event loop was held up."""


class ConnectionGate:
    """Up to ``size`` commands at once to one server; the rest wait their turn (see the module docstring).

    Args:
        size: Most commands in flight (the server's connection pool size).
    """

    __slots__ = ("_free", "_waiters", "answered")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.answered = 0
        """Replies received from the server: how a failure tells a dead server from a slow command."""

    @property
    def waiting(self) -> int:
        """How many commands wait for a place."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    async def enter(self) -> None:
        """Take a place, waiting (without a timeout) behind the commands that came first."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            # Cancelled just after a place was handed over: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.leave()
            raise

    def leave(self) -> None:
        """Give the place back: to the first command still waiting, else to the free ones."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1

    def after_failure(self, error: BackendError, answered: int, elapsed: float, bound: float, address: str) -> None:
        """Fail the waiting commands if ``error`` shows the server down.

        Args:
            error: What the failed command raised (translated).
            answered: :attr:`answered` when that command began.
            elapsed: Seconds the failed step took.
            bound: Its timeout in seconds.
            address: The server's ``host:port``, for the message.
        """
        if not isinstance(error, (BackendTimeoutError, BackendConnectionError)) or self.answered != answered:
            return
        if isinstance(error, BackendTimeoutError) and elapsed > _LATE * bound:
            return
        waiters, self._waiters = self._waiters, deque()
        kind = type(error)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(
                    kind(
                        f"memcached {address}: a command just failed with no reply from the server since it "
                        f"began ({error}); this one waited for it"
                    )
                )
