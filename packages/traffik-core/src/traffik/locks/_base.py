"""What the process-local locks share: settings, ownership and the TTL timer."""

from __future__ import annotations

import asyncio
import math
import weakref
from collections import deque
from types import TracebackType
from typing import Any

from traffik import config
from traffik.exceptions import ConfigurationError, LockTimeoutError

__all__ = ["LocalLock", "validate_lock_settings"]


def _check_seconds(value: object, name: str, owner: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise ConfigurationError(f"{owner}: {name} must be a non-negative number of seconds or None, got {value!r}")
    # Infinity stays (it is an explicit "no limit" that must not fall back to the global default).
    return float(value)


def validate_lock_settings(
    blocking: object, ttl: object, blocking_timeout: object, owner: str
) -> tuple[bool | None, float | None, float | None]:
    """Check the three lock settings and return them normalised.

    Raises:
        ConfigurationError: Naming the bad parameter and its value.
    """
    if blocking is not None and not isinstance(blocking, bool):
        raise ConfigurationError(f"{owner}: blocking must be True, False or None, got {blocking!r}")
    return (
        blocking,
        _check_seconds(ttl, "ttl", owner),
        _check_seconds(blocking_timeout, "blocking_timeout", owner),
    )


def _current_task() -> asyncio.Task[Any] | None:
    return asyncio.current_task()


class LocalLock:
    """Base of :class:`~traffik.locks.FairLock` and :class:`~traffik.locks.UnfairLock`.

    A lock is owned by the task that acquired it. When a TTL applies, a timer
    revokes the lock from a holder that keeps it longer, so a stuck or crashed
    task cannot block everyone; the revoked holder's later ``release()`` is a
    no-op. Settings left at ``None`` are read from :mod:`traffik.config` at
    every acquisition, so changing the global defaults affects existing locks.
    """

    __slots__ = (
        "__weakref__",
        "_blocking",
        "_blocking_timeout",
        "_locked",
        "_owner",
        "_revoked",
        "_ttl",
        "_ttl_handle",
        "_waiters",
        "name",
    )

    def __init__(
        self,
        name: str = "",
        *,
        blocking: bool | None = None,
        ttl: float | None = None,
        blocking_timeout: float | None = None,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(name, str):
            raise ConfigurationError(f"{owner}: name must be a string, got {name!r}")
        self.name = name
        self._blocking, self._ttl, self._blocking_timeout = validate_lock_settings(
            blocking, ttl, blocking_timeout, owner
        )
        self._locked = False
        self._owner: asyncio.Task[Any] | None = None
        self._ttl_handle: asyncio.TimerHandle | None = None
        self._waiters: deque[Any] = deque()
        self._revoked: weakref.WeakSet[asyncio.Task[Any]] | None = None

    # -- settings resolved at acquisition ----------------------------------

    @property
    def blocking(self) -> bool:
        """Whether acquiring a held lock waits (this lock's setting, else the global one)."""
        return config.get_lock_blocking() if self._blocking is None else self._blocking

    @property
    def ttl(self) -> float | None:
        """Seconds a holder may keep the lock (``None``: no limit)."""
        return config.get_lock_ttl() if self._ttl is None else self._ttl

    @property
    def blocking_timeout(self) -> float | None:
        """Seconds to wait for the lock (``None``: indefinitely)."""
        return config.get_lock_blocking_timeout() if self._blocking_timeout is None else self._blocking_timeout

    # -- the AsyncLock interface -------------------------------------------

    def locked(self) -> bool:
        """Whether some task holds the lock."""
        return self._locked

    async def acquire(self) -> bool:
        """Take the lock, waiting according to ``blocking`` and ``blocking_timeout``.

        Returns:
            ``True`` once the lock is held by the current task.

        Raises:
            LockTimeoutError: The lock is held and ``blocking`` is off (or the
                timeout is 0), or the blocking timeout passed.
        """
        raise NotImplementedError

    async def release(self) -> None:
        """Release the lock held by the current task.

        A no-op for a task whose hold was revoked by the TTL.

        Raises:
            RuntimeError: The current task neither holds the lock nor lost it to the TTL.
        """
        self.release_nowait()

    def release_nowait(self) -> None:
        """Synchronous :meth:`release`, for callers that cannot await."""
        task = _current_task()
        if self._locked and self._owner is task:
            handle = self._ttl_handle
            if handle is not None:
                handle.cancel()
                self._ttl_handle = None
            self._unlock()
            return
        revoked = self._revoked
        if task is not None and revoked is not None and task in revoked:
            revoked.discard(task)
            return
        if not self._locked:
            raise RuntimeError(f"{type(self).__name__} {self.name!r} is not acquired")
        raise RuntimeError(f"{type(self).__name__} {self.name!r} is held by another task")

    async def __aenter__(self) -> LocalLock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release_nowait()

    # -- helpers for subclasses --------------------------------------------

    def _grant(self, task: asyncio.Task[Any] | None) -> None:
        """Make ``task`` the holder and start its TTL timer."""
        self._locked = True
        self._owner = task
        revoked = self._revoked
        if revoked is not None and task is not None:
            revoked.discard(task)
        ttl = self._ttl if self._ttl is not None else config.get_lock_ttl()
        if ttl is not None and ttl != math.inf:
            self._ttl_handle = asyncio.get_running_loop().call_later(ttl, self._expire, task)

    def _expire(self, task: asyncio.Task[Any] | None) -> None:
        """TTL timer: take the lock from ``task`` if it still holds it."""
        if not (self._locked and self._owner is task):
            return
        self._ttl_handle = None
        if task is not None:
            if self._revoked is None:
                self._revoked = weakref.WeakSet()
            self._revoked.add(task)
        self._unlock()

    def _unlock(self) -> None:
        """Free the lock or pass it on (the holder's TTL timer is already cancelled)."""
        raise NotImplementedError

    def _refuse(self) -> LockTimeoutError:
        return LockTimeoutError(f"{type(self).__name__} {self.name!r} is held and blocking is off")

    def _timed_out(self, timeout: float) -> LockTimeoutError:
        return LockTimeoutError(f"{type(self).__name__} {self.name!r} was not acquired within {timeout} s")

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<{type(self).__name__} {self.name!r} {state}, {len(self._waiters)} waiting>"
