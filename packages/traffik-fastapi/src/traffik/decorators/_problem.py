"""Opt-in RFC 9457 problem details (``application/problem+json``) for throttled requests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from traffik.exceptions import ConfigurationError, ConnectionThrottled

__all__ = ["PROBLEM_JSON", "ProblemHandler", "problem_details_handler"]

PROBLEM_JSON: Final = "application/problem+json"

ProblemHandler = Callable[[HTTPConnection, Exception], Awaitable[Response]]
"""An exception handler for :class:`~traffik.exceptions.ConnectionThrottled`."""


class ProblemJSONResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = PROBLEM_JSON


def problem_details_handler(type_uri: str = "about:blank", title: str = "Too Many Requests") -> ProblemHandler:
    """An exception handler that answers a throttled request with an RFC 9457 problem.

    The body has ``type``, ``title``, ``status`` (429), ``detail`` (the
    exception's message) and the extension member ``retry_after`` (whole
    seconds, as in the ``Retry-After`` header); the rate limit headers stay
    on the response. :func:`~traffik.decorators.install` registers it with
    ``problem_details=True``; to register it yourself:
    ``app.add_exception_handler(ConnectionThrottled, problem_details_handler())``.

    Args:
        type_uri: The problem type: a URI reference that documents it
            (``"about:blank"``, RFC 9457's default, means "see the status code").
        title: A short, human-readable summary of the problem type.

    Raises:
        ConfigurationError: ``type_uri`` or ``title`` is not a non-empty string.

    Example:
        >>> handler = problem_details_handler("https://example.com/problems/rate-limit")
        >>> callable(handler)
        True
    """
    for name, value in (("type_uri", type_uri), ("title", title)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"problem_details_handler(): {name} must be a non-empty string, got {value!r}")

    async def handle(connection: HTTPConnection, exc: Exception) -> Response:
        if not isinstance(exc, ConnectionThrottled):
            raise exc
        body = {
            "type": type_uri,
            "title": title,
            "status": exc.status_code,
            "detail": exc.detail,
            "retry_after": exc.retry_after,
        }
        return ProblemJSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    return handle
