"""``install(app)``: one call that makes every throttled route of a FastAPI app complete."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from traffik.decorators._headers import RateLimitHeadersMiddleware
from traffik.decorators._openapi import document_throttles
from traffik.decorators._problem import problem_details_handler
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.throttles import INSTALLED_ATTRIBUTE

__all__ = ["install"]

_INSTALLED: Final = INSTALLED_ATTRIBUTE  # also what tells the throttles not to warn about lost headers


def install(
    app: FastAPI,
    *,
    headers: bool = True,
    openapi: bool = True,
    problem_details: bool = False,
    problem_type: str = "about:blank",
    problem_title: str = "Too Many Requests",
) -> FastAPI:
    """Set up ``app`` for throttles: headers on every response, 429s in the OpenAPI schema.

    Call it once, where the app is built (before it serves requests).

    Args:
        app: The FastAPI application.
        headers: Add :class:`~traffik.decorators.RateLimitHeadersMiddleware`,
            so the rate limit headers reach every response of a throttled
            route, including ``Response`` objects the endpoint builds itself
            (FastAPI drops a dependency's headers on those).
        openapi: Document, on each throttled route, a 429 response with its
            headers and the policy (e.g. ``"100/min per client"``), the rate
            limit headers of the success responses, and an ``x-rate-limits``
            extension. ``False`` leaves the schema as FastAPI makes it.
        problem_details: Answer throttled requests with an RFC 9457
            ``application/problem+json`` body instead of ``{"detail": ...}``.
        problem_type: The problem's ``type`` URI (with ``problem_details``).
        problem_title: The problem's ``title`` (with ``problem_details``).

    Returns:
        ``app``, for chaining.

    Raises:
        ConfigurationError: An invalid argument, or ``app`` was already installed.

    Example:
        >>> from fastapi import FastAPI
        >>> app = install(FastAPI(), problem_details=True)
    """
    if not isinstance(app, FastAPI):
        raise ConfigurationError(f"install(): app must be a FastAPI application, got {app!r}")
    for name, flag in (("headers", headers), ("openapi", openapi), ("problem_details", problem_details)):
        if not isinstance(flag, bool):
            raise ConfigurationError(f"install(): {name} must be True or False, got {flag!r}")
    if getattr(app, _INSTALLED, False):
        raise ConfigurationError(f"install(): {app!r} is already installed; call install() once per app")
    problem: tuple[str, str] | None = None
    if problem_details:
        handler = problem_details_handler(problem_type, problem_title)
        app.add_exception_handler(ConnectionThrottled, handler)
        problem = (problem_type, problem_title)
    if headers:
        app.add_middleware(RateLimitHeadersMiddleware)
    if openapi:
        _document(app, problem)
    setattr(app, _INSTALLED, True)
    return app


def _document(app: FastAPI, problem: tuple[str, str] | None) -> None:
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        # FastAPI caches the schema and rebuilds it when routes change: document each new one once.
        if not documented or documented[0] is not schema:
            document_throttles(schema, app.routes, problem)
            documented[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the schema
