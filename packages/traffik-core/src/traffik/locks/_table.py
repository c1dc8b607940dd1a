"""Named process-local locks, created on demand and dropped when unused."""

from __future__ import annotations

import weakref
from typing import Literal

from traffik.exceptions import ConfigurationError
from traffik.locks._base import LocalLock, validate_lock_settings
from traffik.locks._fair import FairLock
from traffik.locks._unfair import UnfairLock

__all__ = ["LockKind", "LocalLockTable"]

LockKind = Literal["fair", "unfair"]
"""``"fair"``: :class:`~traffik.locks.FairLock`; ``"unfair"``: :class:`~traffik.locks.UnfairLock`."""

_KINDS: dict[str, type[LocalLock]] = {"fair": FairLock, "unfair": UnfairLock}


class LocalLockTable:
    """Hands out one lock per name, of one kind and with one set of settings.

    Locks are held weakly: while anyone holds, awaits or references the lock
    of a name, :meth:`get` returns that same lock; once nobody does, the entry
    disappears, so a table keyed by client never grows with past clients.

    Args:
        kind: ``"fair"`` or ``"unfair"``.
        blocking: Passed to every lock (``None``: the global default).
        ttl: Passed to every lock, seconds (``None``: the global default).
        blocking_timeout: Passed to every lock, seconds (``None``: the global default).

    Raises:
        ConfigurationError: An unknown ``kind`` or an invalid setting.

    Example:
        >>> table = LocalLockTable(kind="fair")
        >>> table.get("user-1") is table.get("user-1")
        True
    """

    __slots__ = ("_lock_class", "_locks", "blocking", "blocking_timeout", "kind", "ttl")

    def __init__(
        self,
        kind: LockKind = "unfair",
        blocking: bool | None = None,
        ttl: float | None = None,
        blocking_timeout: float | None = None,
    ) -> None:
        lock_class = _KINDS.get(kind) if isinstance(kind, str) else None
        if lock_class is None:
            raise ConfigurationError(f"LocalLockTable: kind must be 'fair' or 'unfair', got {kind!r}")
        self.kind: LockKind = kind
        self.blocking, self.ttl, self.blocking_timeout = validate_lock_settings(
            blocking, ttl, blocking_timeout, "LocalLockTable"
        )
        self._lock_class = lock_class
        self._locks: weakref.WeakValueDictionary[str, LocalLock] = weakref.WeakValueDictionary()

    def get(self, name: str) -> LocalLock:
        """The lock named ``name`` (created if nobody is using one)."""
        lock = self._locks.get(name)
        if lock is None:
            lock = self._lock_class(name, blocking=self.blocking, ttl=self.ttl, blocking_timeout=self.blocking_timeout)
            self._locks[name] = lock
        return lock

    def __len__(self) -> int:
        """Number of names whose lock is still in use."""
        return len(self._locks)

    def __repr__(self) -> str:
        return f"LocalLockTable(kind={self.kind!r}, {len(self)} locks)"
