"""Exceptions raised by Traffik.

Every error Traffik raises on purpose derives from :class:`TraffikError`, so an
application can catch them all at once. Configuration mistakes are also
``ValueError`` so that code written against plain Python conventions still
catches them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Final

from starlette.exceptions import HTTPException

__all__ = [
    "BACKEND_ERROR_KEY",
    "SERVICE_UNAVAILABLE",
    "TOO_MANY_REQUESTS",
    "BackendConnectionError",
    "BackendError",
    "BackendTimeoutError",
    "ConfigurationError",
    "ConnectionThrottled",
    "LockTimeoutError",
    "PluginError",
    "StateContentionError",
    "TraffikError",
    "retry_detail",
]

TOO_MANY_REQUESTS: Final = "Too many requests"
"""The reason a throttled client is given (the client is over its limit)."""

SERVICE_UNAVAILABLE: Final = "Rate limit service unavailable"
"""The reason given when the backend failed and ``on_error="throttle"`` rejected the request."""

BACKEND_ERROR_KEY: Final = "traffik.backend_error"
"""Context key set for a throttled handler called because the backend failed
(``on_error="throttle"``): its value is the backend's exception. A handler that
finds it may answer otherwise (a 503, say); the default one says
:data:`SERVICE_UNAVAILABLE`."""


class TraffikError(Exception):
    """Base class of every error Traffik raises on purpose."""


class ConfigurationError(TraffikError, ValueError):
    """Invalid configuration: a bad rate, cost, strategy parameter, plugin or setting.

    Raised at construction time wherever possible, with a message that names the
    parameter and the offending value.
    """


class PluginError(ConfigurationError):
    """A plugin is missing, misbehaves, or registers something twice."""


class BackendError(TraffikError):
    """A backend operation failed. Throttles route it through ``on_error``."""


class BackendConnectionError(BackendError):
    """The backend's server could not be reached."""


class BackendTimeoutError(BackendError):
    """A backend operation did not finish within its timeout."""


class StateContentionError(BackendError):
    """Optimistic concurrency retries were exhausted while updating shared state."""


class LockTimeoutError(BackendError):
    """A lock could not be acquired within its blocking timeout."""


def retry_after_seconds(wait_ms: float) -> int:
    """Whole seconds a client should wait: ``wait_ms`` rounded up, at least 1."""
    if wait_ms != wait_ms or wait_ms <= 1_000:  # NaN and sub-second waits both become 1
        return 1
    if math.isinf(wait_ms):
        # An unreachable cost never passes; a day is an honest "much later" for a header.
        return 86_400
    return math.ceil(wait_ms / 1_000)


def retry_detail(retry_after: int, reason: str = TOO_MANY_REQUESTS) -> str:
    """The body of a throttled response: ``"<reason>. Retry in N seconds."`` (``1 second``).

    Example:
        >>> retry_detail(1), retry_detail(60, SERVICE_UNAVAILABLE)
        ('Too many requests. Retry in 1 second.', 'Rate limit service unavailable. Retry in 60 seconds.')
    """
    unit = "second" if retry_after == 1 else "seconds"
    return f"{reason}. Retry in {retry_after} {unit}."


class ConnectionThrottled(HTTPException, TraffikError):
    """The client is over its limit: an HTTP 429 with a ``Retry-After`` header.

    A Starlette :class:`~starlette.exceptions.HTTPException`, so Starlette
    answers it as ``text/plain`` and FastAPI as JSON ``{"detail": ...}``;
    raised before a WebSocket is accepted it denies the handshake with 429.

    Args:
        wait_ms: Milliseconds until the client may retry.
        detail: Response body; defaults to ``"Too many requests. Retry in N seconds."``
            (``"1 second"``; see :func:`retry_detail`).
        headers: Extra response headers (rate limit headers); ``Retry-After`` is always set.

    Example:
        >>> exc = ConnectionThrottled(1_500.0)
        >>> exc.status_code, exc.retry_after, exc.headers["Retry-After"]
        (429, 2, '2')
        >>> exc.detail
        'Too many requests. Retry in 2 seconds.'
    """

    def __init__(
        self,
        wait_ms: float,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        retry_after = retry_after_seconds(wait_ms)
        all_headers = dict(headers) if headers else {}
        all_headers["Retry-After"] = str(retry_after)
        if detail is None:
            detail = retry_detail(retry_after)
        super().__init__(status_code=429, detail=detail, headers=all_headers)
        self.wait_ms = wait_ms
        self.retry_after = retry_after
