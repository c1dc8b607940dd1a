"""A lock that hands itself to waiters in strict arrival order."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from traffik.locks._base import LocalLock, _current_task

__all__ = ["FairLock"]


class FairLock(LocalLock):
    """An async lock with strict FIFO hand-off.

    On release the lock passes straight to the longest-waiting task: it never
    becomes free in between, so a newcomer cannot overtake a waiter. That costs
    one extra future per contended acquisition compared to
    :class:`~traffik.locks.UnfairLock`.

    Args:
        name: Shown in errors and ``repr``.
        blocking: Wait for a held lock (``None``: ``traffik.config.get_lock_blocking()``).
        ttl: Seconds a holder may keep the lock before it is revoked
            (``None``: ``traffik.config.get_lock_ttl()``).
        blocking_timeout: Seconds to wait before raising
            :class:`~traffik.exceptions.LockTimeoutError`
            (``None``: ``traffik.config.get_lock_blocking_timeout()``).

    Example:
        >>> import asyncio
        >>> async def main() -> list[int]:
        ...     lock, order = FairLock("demo"), []
        ...     async def worker(n: int) -> None:
        ...         async with lock:
        ...             order.append(n)
        ...             await asyncio.sleep(0)
        ...     await asyncio.gather(*(worker(n) for n in range(3)))
        ...     return order
        >>> asyncio.run(main())
        [0, 1, 2]
    """

    __slots__ = ()

    async def acquire(self) -> bool:  # documented on LocalLock
        task = _current_task()
        if not self._locked and not self._waiters:
            self._grant(task)
            return True
        if not (self._blocking if self._blocking is not None else self.blocking):
            raise self._refuse()
        timeout = self.blocking_timeout
        if timeout == 0:
            raise self._timed_out(timeout)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        waiter = (future, task)
        self._waiters.append(waiter)
        timer = (
            None
            if timeout is None or timeout == math.inf
            else loop.call_later(timeout, self._time_out, waiter, timeout)
        )
        try:
            await future
        except BaseException:
            if future.cancelled() or future.exception() is not None:
                # Timed out or cancelled while waiting: leave the queue.
                self._discard(waiter)
            elif self._locked and self._owner is task:
                # Handed the lock, then cancelled before resuming: pass it on.
                self.release_nowait()
            raise
        finally:
            if timer is not None:
                timer.cancel()
        return True

    def _time_out(self, waiter: tuple[asyncio.Future[bool], Any], timeout: float) -> None:
        future = waiter[0]
        if not future.done():
            self._discard(waiter)
            future.set_exception(self._timed_out(timeout))

    def _discard(self, waiter: tuple[asyncio.Future[bool], Any]) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _unlock(self) -> None:
        waiters = self._waiters
        while waiters:
            future, task = waiters.popleft()
            if not future.done():
                future.set_result(True)
                self._grant(task)
                return
        self._locked = False
        self._owner = None
