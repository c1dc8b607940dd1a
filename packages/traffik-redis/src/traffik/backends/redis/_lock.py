"""A lock held in Redis, shared by every process that uses the same namespace."""

from __future__ import annotations

import asyncio
import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from traffik import config
from traffik.backends.redis._errors import translate_errors
from traffik.clock import monotonic_ms
from traffik.exceptions import LockTimeoutError

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["RedisLock"]

# Deletes the lock only if it still holds this owner's token: a holder whose
# TTL ran out must not release the lock someone else has taken since.
_RELEASE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
_FIRST_POLL_S: Final = 0.002
_MAX_POLL_S: Final = 0.05


class RedisLock:
    """A mutual-exclusion lock stored under one Redis key (``SET NX PX`` + token-checked delete).

    Settings left at ``None`` are read from :mod:`traffik.config` at every
    acquisition. With a TTL the key expires on its own, so a crashed holder
    cannot block everyone forever; without one it stays until released.

    Args:
        client: The redis-py asyncio client.
        key: The Redis key of the lock.
        blocking: Wait for a held lock (``None``: :func:`traffik.config.get_lock_blocking`).
        ttl: Seconds the holder may keep it (``None``: :func:`traffik.config.get_lock_ttl`).
        blocking_timeout: Seconds to wait (``None``: :func:`traffik.config.get_lock_blocking_timeout`).
    """

    __slots__ = ("_blocking", "_blocking_timeout", "_client", "_token", "_ttl", "key")

    def __init__(
        self,
        client: Redis | RedisCluster,
        key: str,
        *,
        blocking: bool | None = None,
        ttl: float | None = None,
        blocking_timeout: float | None = None,
    ) -> None:
        self._client = client
        self.key = key
        self._blocking = blocking
        self._ttl = ttl
        self._blocking_timeout = blocking_timeout
        self._token: str | None = None

    def locked(self) -> bool:
        """Whether this object holds the lock (as far as it knows: a TTL may have run out)."""
        return self._token is not None

    async def acquire(self) -> bool:
        """Take the lock, waiting as the settings allow.

        Returns:
            ``True`` once held.

        Raises:
            LockTimeoutError: Held elsewhere and not blocking, or the blocking timeout passed.
            BackendError: Redis failed.
        """
        blocking = config.get_lock_blocking() if self._blocking is None else self._blocking
        ttl = config.get_lock_ttl() if self._ttl is None else self._ttl
        timeout = config.get_lock_blocking_timeout() if self._blocking_timeout is None else self._blocking_timeout
        token = secrets.token_hex(16)
        options: dict[str, Any] = {"nx": True}
        if ttl is not None and ttl != float("inf"):
            options["px"] = max(1, int(ttl * 1000))
        deadline = None if timeout is None else monotonic_ms() + timeout * 1000.0
        pause = _FIRST_POLL_S
        while True:
            with translate_errors(f"acquiring lock {self.key!r}"):
                taken = await self._client.set(self.key, token, **options)
            if taken:
                self._token = token
                return True
            if not blocking:
                raise LockTimeoutError(f"lock {self.key!r} is held and blocking is off")
            if deadline is not None and monotonic_ms() >= deadline:
                raise LockTimeoutError(f"lock {self.key!r} not acquired within {timeout:g} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_POLL_S)

    async def release(self) -> None:
        """Give the lock up (a no-op if not held, or if its TTL already handed it to someone else)."""
        token, self._token = self._token, None
        if token is None:
            return
        with translate_errors(f"releasing lock {self.key!r}"):
            await self._client.eval(_RELEASE, 1, self.key, token)

    async def __aenter__(self) -> RedisLock:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
