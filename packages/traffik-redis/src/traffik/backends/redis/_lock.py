"""A lock held in Redis, shared by every process that uses the same namespace."""

from __future__ import annotations

import asyncio
import logging
import secrets
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from traffik import config
from traffik.backends.redis._errors import translate_errors
from traffik.clock import monotonic_ms
from traffik.exceptions import LockTimeoutError

if TYPE_CHECKING:
    from redis.asyncio import Redis, RedisCluster

__all__ = ["DEFAULT_LOCK_BLOCKING_TIMEOUT", "DEFAULT_LOCK_TTL", "RedisLock"]

DEFAULT_LOCK_TTL: Final = 10.0
"""Seconds a Redis lock lives when neither the backend nor :mod:`traffik.config` sets a TTL.

A lock in Redis outlives the process that took it: without a TTL, a holder that
crashed, or was cancelled after its ``SET NX`` reached the server, would keep the
key locked forever. The locks the backend takes itself are held for a few
commands (each bounded by ``socket_timeout``), far below this.
"""
DEFAULT_LOCK_BLOCKING_TIMEOUT: Final = DEFAULT_LOCK_TTL
"""Seconds to wait for a held Redis lock when neither the backend nor :mod:`traffik.config` sets a timeout.

As long as the default TTL: by then a holder that died has lost the lock.
"""

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
_logger = logging.getLogger("traffik.backends.redis")
_cleanups: set[asyncio.Task[None]] = set()  # strong references: the loop keeps only weak ones


class RedisLock:
    """A mutual-exclusion lock stored under one Redis key (``SET NX PX`` + token-checked delete).

    Settings left at ``None`` are read from :mod:`traffik.config` at every
    acquisition; where that says ``None`` too, a Redis lock still gets a bound:
    the key expires after :data:`DEFAULT_LOCK_TTL` seconds and a waiter gives up
    after :data:`DEFAULT_LOCK_BLOCKING_TIMEOUT` seconds, so neither a crashed
    holder nor a lost release can block everyone forever. A TTL of
    ``float("inf")`` asks explicitly for a key that never expires (then only
    :meth:`release` frees it).

    Release deletes the key only while it still holds this owner's token. An
    acquisition cancelled while its ``SET NX`` was in flight (it may have reached
    the server) deletes the key if it holds its token, in the background.

    Args:
        client: The redis-py asyncio client.
        key: The Redis key of the lock.
        blocking: Wait for a held lock (``None``: :func:`traffik.config.get_lock_blocking`).
        ttl: Seconds the holder may keep it (``None``: :func:`traffik.config.get_lock_ttl`,
            then :data:`DEFAULT_LOCK_TTL`).
        blocking_timeout: Seconds to wait (``None``: :func:`traffik.config.get_lock_blocking_timeout`,
            then :data:`DEFAULT_LOCK_BLOCKING_TIMEOUT`).
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

    def settings(self) -> tuple[bool, float | None, float]:
        """The effective ``(blocking, ttl, blocking_timeout)`` of the next acquisition.

        ``ttl`` is ``None`` only when ``float("inf")`` was asked for explicitly.
        """
        blocking = config.get_lock_blocking() if self._blocking is None else self._blocking
        ttl = self._ttl if self._ttl is not None else config.get_lock_ttl()
        if ttl is None:
            ttl = DEFAULT_LOCK_TTL
        timeout = self._blocking_timeout if self._blocking_timeout is not None else config.get_lock_blocking_timeout()
        if timeout is None:
            timeout = DEFAULT_LOCK_BLOCKING_TIMEOUT
        return blocking, (None if ttl == float("inf") else ttl), timeout

    async def acquire(self) -> bool:
        """Take the lock, waiting as the settings allow.

        Returns:
            ``True`` once held.

        Raises:
            LockTimeoutError: Held elsewhere and not blocking, or the blocking timeout passed.
            BackendError: Redis failed.
        """
        blocking, ttl, timeout = self.settings()
        token = secrets.token_hex(16)
        options: dict[str, Any] = {"nx": True}
        if ttl is not None:
            options["px"] = max(1, int(ttl * 1000))
        deadline = monotonic_ms() + timeout * 1000.0
        pause = _FIRST_POLL_S
        while True:
            try:
                with translate_errors(f"acquiring lock '{self.key}'"):
                    taken = await self._client.set(self.key, token, **options)
            except BaseException:
                # The SET may have reached the server (cancelled or timed out while
                # reading its reply): give back whatever this token holds.
                self._release_in_background(token)
                raise
            if taken:
                self._token = token
                return True
            if not blocking:
                raise LockTimeoutError(f"lock '{self.key}' is held and blocking is off")
            if monotonic_ms() >= deadline:
                raise LockTimeoutError(f"lock '{self.key}' not acquired within {timeout:g} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, _MAX_POLL_S)

    async def release(self) -> None:
        """Give the lock up (a no-op if not held, or if its TTL already handed it to someone else).

        If the release itself is cancelled, it still completes in the background.
        """
        token, self._token = self._token, None
        if token is None:
            return
        task = asyncio.ensure_future(self._delete_if_held(token))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            _cleanups.add(task)
            task.add_done_callback(_forget_cleanup)
            raise

    async def _delete_if_held(self, token: str) -> None:
        with translate_errors(f"releasing lock '{self.key}'"):
            await self._client.eval(_RELEASE, 1, self.key, token)

    def _release_in_background(self, token: str) -> None:
        try:
            task = asyncio.get_running_loop().create_task(self._delete_quietly(token))
        except RuntimeError:  # no loop left to run it: the TTL frees the key
            return
        _cleanups.add(task)
        task.add_done_callback(_forget_cleanup)

    async def _delete_quietly(self, token: str) -> None:
        try:
            await self._delete_if_held(token)
        except Exception as exc:  # best effort: the TTL frees the key anyway
            _logger.debug("redis: releasing lock '%s' after a failed acquisition failed: %r", self.key, exc)

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


def _forget_cleanup(task: asyncio.Task[None]) -> None:
    _cleanups.discard(task)
    if not task.cancelled() and task.exception() is not None:
        _logger.debug("redis: background lock release failed: %r", task.exception())
