"""Async locks: process-local fair and unfair locks, and the interface distributed ones follow.

Example:
    >>> import asyncio
    >>> from traffik.locks import LocalLockTable
    >>> async def main() -> bool:
    ...     async with LocalLockTable(kind="unfair").get("client-1") as lock:
    ...         return lock.locked()
    >>> asyncio.run(main())
    True
"""

from __future__ import annotations

from traffik.locks._base import LocalLock
from traffik.locks._fair import FairLock
from traffik.locks._protocol import AsyncLock
from traffik.locks._table import LocalLockTable, LockKind
from traffik.locks._unfair import UnfairLock

__all__ = ["AsyncLock", "FairLock", "LocalLock", "LocalLockTable", "LockKind", "UnfairLock"]
