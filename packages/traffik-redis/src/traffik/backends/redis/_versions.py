"""Where redis-py's connection API differs between the versions traffik-redis accepts.

Kept connections (:mod:`traffik.backends.redis._connections`) use the pool and
the connections directly, so each difference between redis-py lines that they
meet is answered here, once, by looking at what the installed version offers
rather than at its version number. valkey-py, a fork of redis-py 5, answers
like redis-py 5 does, with its own exception classes (``errors``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from traffik.backends.redis._libraries import ClientErrors

from redis.asyncio.connection import AbstractConnection, ConnectionPool

__all__ = ["checkout_takes_command_name", "closed_or_dirty", "pool_is_full"]


def checkout_takes_command_name(pool: ConnectionPool) -> bool:
    """redis-py before 5.3 requires ``get_connection(command_name)``; later versions warn when given it."""
    parameter = inspect.signature(pool.get_connection).parameters.get("command_name")
    return parameter is not None and parameter.default is inspect.Parameter.empty


def pool_is_full(exc: BaseException, errors: ClientErrors) -> bool:
    """``MaxConnectionsError``, or what redis-py before 7.2 raises: ``ConnectionError("Too many connections")``."""
    if errors.pool_full is not None and isinstance(exc, errors.pool_full):
        return True
    return type(exc) is errors.connection and exc.args == ("Too many connections",)


async def closed_or_dirty(connection: AbstractConnection, errors: ClientErrors) -> bool:
    """redis-py's own checkout probe: closed by the server, failed, or unread data waiting."""
    # can_read() from redis-py 8 on; can_read_destructive() before (deprecated since).
    probe: Callable[[], Awaitable[object]] | None = getattr(connection, "can_read", None)
    if probe is None:
        probe = connection.can_read_destructive
    try:
        # False: nothing to read. True or data: out of step. b"" (before 8): end of stream.
        return (await probe()) is not False
    except (errors.connection, errors.timeout, OSError):
        return True
    except errors.response:
        raise
    except Exception:  # "Buffer is closed" and the like: not usable as it is
        return True
