"""InMemoryBackend.lock(): the configured kind and settings."""

from __future__ import annotations

import pytest
from traffik import config
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import LockTimeoutError
from traffik.locks import AsyncLock, FairLock, UnfairLock


@pytest.mark.parametrize(("kind", "lock_class"), [("fair", FairLock), ("unfair", UnfairLock)])
def test_lock_kind_and_settings(kind: str, lock_class: type) -> None:
    backend = InMemoryBackend(lock_kind=kind, lock_blocking=False, lock_ttl=2, lock_blocking_timeout=3)  # type: ignore[arg-type]  # kind is one of the two literals
    lock = backend.lock("client-1")
    assert isinstance(lock, AsyncLock)
    assert type(lock) is lock_class
    assert (lock.blocking, lock.ttl, lock.blocking_timeout) == (False, 2.0, 3.0)
    assert backend.lock("client-1") is lock
    assert backend.lock("client-2") is not lock


def test_unset_lock_settings_follow_the_global_configuration() -> None:
    lock = InMemoryBackend().lock("k")
    try:
        config.set_lock_blocking(False)
        config.set_lock_ttl(4)
        assert (lock.blocking, lock.ttl) == (False, 4.0)
    finally:
        config.reset_config()


async def test_non_blocking_backend_lock_refuses_when_held() -> None:
    backend = InMemoryBackend(lock_blocking=False)
    async with backend.lock("k"):
        with pytest.raises(LockTimeoutError):
            await backend.lock("k").acquire()
    async with backend.lock("k") as lock:
        assert lock.locked()
