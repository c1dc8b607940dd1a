"""Turning redis-py's exceptions into Traffik's backend errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError

from redis import exceptions as redis_errors

__all__ = ["translate_errors"]


@contextlib.contextmanager
def translate_errors(action: str) -> Iterator[None]:
    """Re-raise redis-py and socket errors from the block as :class:`~traffik.exceptions.BackendError` subclasses.

    Timeouts become :class:`~traffik.exceptions.BackendTimeoutError`; failures to
    reach the server, a cluster with no node for the key, and ``READONLY`` (the
    primary became a replica: a failover is under way)
    :class:`~traffik.exceptions.BackendConnectionError`; anything else Redis
    answers with a plain :class:`~traffik.exceptions.BackendError`. ``action``
    says what was being done.
    """
    try:
        yield
    except BackendError:
        raise
    except (redis_errors.TimeoutError, TimeoutError, asyncio.TimeoutError) as exc:
        raise BackendTimeoutError(f"Redis timed out during {action}: {exc}") from exc
    except (redis_errors.ConnectionError, OSError) as exc:
        raise BackendConnectionError(f"cannot reach Redis during {action}: {exc}") from exc
    except redis_errors.ReadOnlyError as exc:
        raise BackendConnectionError(f"Redis is a read-only replica now (failover?) during {action}: {exc}") from exc
    except redis_errors.RedisClusterException as exc:
        # Not a RedisError: no reachable node, or no node serves the key's slot (mid-failover).
        raise BackendConnectionError(f"Redis Cluster cannot serve {action}: {exc}") from exc
    except redis_errors.RedisError as exc:
        raise BackendError(f"Redis failed during {action}: {type(exc).__name__}: {exc}") from exc
