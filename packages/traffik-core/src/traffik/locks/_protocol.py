"""The interface every Traffik lock offers, local or distributed."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, runtime_checkable

__all__ = ["AsyncLock"]


@runtime_checkable
class AsyncLock(Protocol):
    """An async mutual-exclusion lock, used as ``async with lock: ...``.

    ``release()`` is a coroutine so that distributed locks (Redis, Memcached),
    whose release is a round trip, fit the same interface as process-local ones.

    Example:
        >>> import asyncio
        >>> from traffik.locks import AsyncLock, UnfairLock
        >>> async def main() -> bool:
        ...     lock: AsyncLock = UnfairLock("demo")
        ...     async with lock:
        ...         return lock.locked()
        >>> asyncio.run(main())
        True
    """

    async def acquire(self) -> bool:
        """Wait for the lock (within the lock's blocking rules) and take it; returns ``True``.

        Raises:
            LockTimeoutError: The lock is held and ``blocking`` is off, or the
                blocking timeout passed.
        """
        ...

    async def release(self) -> None:
        """Give the lock up."""
        ...

    def locked(self) -> bool:
        """Whether the lock is held, as far as this object knows."""
        ...

    async def __aenter__(self) -> object: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None: ...
