"""A lock that lets a newcomer take it ahead of waiters: cheaper, not fair."""

from __future__ import annotations

import asyncio
import contextlib
import math

from traffik.locks._base import LocalLock, _current_task

__all__ = ["UnfairLock"]


class _Waiter:
    __slots__ = ("future", "timed_out")

    def __init__(self, future: asyncio.Future[bool]) -> None:
        self.future = future
        self.timed_out = False


class UnfairLock(LocalLock):
    """An async lock that may be barged: whoever asks while it is free gets it.

    Release frees the lock and wakes one waiter; a task that calls
    :meth:`acquire` before the woken waiter runs takes the lock instead, and
    the waiter queues again at the front. Uncontended acquisition is a flag
    check, which is why backends use this kind by default.

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
        >>> async def main() -> bool:
        ...     lock = UnfairLock("demo", blocking=False)
        ...     async with lock:
        ...         return lock.locked()
        >>> asyncio.run(main())
        True
    """

    __slots__ = ()

    async def acquire(self) -> bool:  # documented on LocalLock
        task = _current_task()
        if not self._locked:
            self._grant(task)
            return True
        if not (self._blocking if self._blocking is not None else self.blocking):
            raise self._refuse()
        timeout = self.blocking_timeout
        if timeout == 0:
            raise self._timed_out(timeout)
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop.create_future())
        self._waiters.append(waiter)
        timer = (
            None
            if timeout is None or timeout == math.inf
            else loop.call_later(timeout, self._time_out, waiter, timeout)
        )
        try:
            while True:
                future = waiter.future
                try:
                    await future
                except BaseException:
                    if future.cancelled() or future.exception() is not None:
                        self._discard(waiter)
                    else:
                        # Woken, then cancelled before resuming: hand the wake-up on.
                        self._wake_next()
                    raise
                # A method call, not the attribute: mypy keeps the narrowing from before the await.
                if not self.locked():
                    self._grant(task)
                    return True
                # Someone barged in between the wake-up and now.
                if waiter.timed_out:
                    assert timeout is not None
                    raise self._timed_out(timeout)
                waiter.future = loop.create_future()
                self._waiters.appendleft(waiter)
        finally:
            if timer is not None:
                timer.cancel()

    def _time_out(self, waiter: _Waiter, timeout: float) -> None:
        waiter.timed_out = True
        if not waiter.future.done():
            self._discard(waiter)
            waiter.future.set_exception(self._timed_out(timeout))

    def _discard(self, waiter: _Waiter) -> None:
        with contextlib.suppress(ValueError):
            self._waiters.remove(waiter)

    def _wake_next(self) -> None:
        waiters = self._waiters
        while waiters:
            future = waiters.popleft().future
            if not future.done():
                future.set_result(True)
                return

    def _unlock(self) -> None:
        self._locked = False
        self._owner = None
        self._wake_next()
