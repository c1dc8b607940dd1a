"""Turning the client library's exceptions (redis-py's, or valkey-py's) into Traffik's backend errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from traffik.backends.redis._libraries import loaded_errors
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError

__all__ = ["backend_error", "translate_errors"]


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Re-raise client and socket errors from the block as :class:`~traffik.exceptions.BackendError` subclasses.

    Timeouts become :class:`~traffik.exceptions.BackendTimeoutError`; failures to
    reach the server, a cluster with no node for the key, and ``READONLY`` (the
    primary became a replica: a failover is under way)
    :class:`~traffik.exceptions.BackendConnectionError`; anything else Redis
    answers with a plain :class:`~traffik.exceptions.BackendError`. ``action``
    says what was being done. Other exceptions pass through unchanged.
    """
    try:
        yield
    except BackendError:
        raise
    except Exception as exc:
        translated = backend_error(exc, action)
        if translated is None:
            raise
        raise translated from exc


def backend_error(exc: Exception, action: str) -> BackendError | None:
    """The :class:`~traffik.exceptions.BackendError` that ``exc`` means (see :func:`translate_errors`), if any."""
    known = loaded_errors()
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, *(errors.timeout for errors in known))):
        return BackendTimeoutError(f"Redis timed out during {action}: {exc}")
    if isinstance(exc, (OSError, *(errors.connection for errors in known))):
        return BackendConnectionError(f"cannot reach Redis during {action}: {exc}")
    if isinstance(exc, tuple(errors.read_only for errors in known)):
        return BackendConnectionError(f"Redis is a read-only replica now (failover?) during {action}: {exc}")
    if isinstance(exc, tuple(errors.cluster for errors in known)):
        # Not a RedisError: no reachable node, or no node serves the key's slot (mid-failover).
        return BackendConnectionError(f"Redis Cluster cannot serve {action}: {exc}")
    if isinstance(exc, tuple(errors.base for errors in known)):
        return BackendError(f"Redis failed during {action}: {type(exc).__name__}: {exc}")
    return None
