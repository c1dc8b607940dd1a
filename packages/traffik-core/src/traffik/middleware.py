"""ASGI middleware that runs throttles before the app, and puts rate limit headers on responses.

Example:
    >>> from starlette.applications import Starlette
    >>> from starlette.middleware import Middleware
    >>> from traffik.backends.inmemory import InMemoryBackend
    >>> from traffik.registry import ThrottleRegistry
    >>> from traffik.throttles import HTTPThrottle
    >>> api = HTTPThrottle("doc:middleware", rate="100/min", registry=ThrottleRegistry())
    >>> app = Starlette(middleware=[Middleware(
    ...     ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(api, path="/api/**")],
    ...     backend=InMemoryBackend())])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from traffik.backends.base import ThrottleBackend, _active_backend
from traffik.exceptions import ConfigurationError
from traffik.throttles import BaseThrottle, MiddlewareThrottle
from traffik.throttles._scope import headers_injector

__all__ = ["MiddlewareThrottle", "ThrottleMiddleware"]


_POLICY_VIOLATION: Final = 1008
_DENIAL_EXTENSION: Final = "websocket.http.response"


def _can_deny_handshake(scope: Scope) -> bool:
    """Whether the server can send an HTTP response to a WebSocket handshake (ASGI denial extension)."""
    return _DENIAL_EXTENSION in (scope.get("extensions") or {})


async def _error_response(scope: Scope, connection: HTTPConnection, exc: HTTPException) -> Response | None:
    """Render ``exc`` the way the app would: its own handler if it has one, else plain text.

    Middleware runs outside the app's exception middleware, so a raised 429
    would otherwise become a 500. FastAPI registers an ``HTTPException``
    handler (JSON body); a plain Starlette app does not (``text/plain``).
    """
    app = scope.get("app")
    handlers: dict[Any, Any] = getattr(app, "exception_handlers", None) or {}
    handler = handlers.get(exc.status_code)
    if handler is None:
        for cls in type(exc).__mro__:
            if cls in handlers:
                handler = handlers[cls]
                break
    if handler is not None:
        result = handler(connection, exc)
        if hasattr(result, "__await__"):
            result = await result
        return result if isinstance(result, Response) else None
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=exc.headers)


class ThrottleMiddleware:
    """Run every matching throttle before the app; attach rate limit headers to every response.

    Args:
        app: The ASGI app.
        middleware_throttles: :class:`MiddlewareThrottle` objects (plain
            ``HTTPThrottle`` / ``WebSocketThrottle`` are wrapped), run in order.
        backend: Backend for throttles that have none, made the active
            backend for each request (so dependency throttles see it too).

    A throttled request gets a 429 rendered by the app's own handler for
    ``HTTPException`` (JSON in FastAPI, plain text in Starlette); a throttled
    WebSocket handshake is denied with 429, or closed with code 1008 where the
    server lacks the WebSocket denial response extension. Headers recorded by any throttle
    during the request (middleware, dependency, decorator or a direct
    ``hit()`` in the endpoint) are set on the response when it starts.
    """

    def __init__(
        self,
        app: ASGIApp,
        middleware_throttles: Iterable[MiddlewareThrottle | BaseThrottle[Any]] = (),
        backend: ThrottleBackend | None = None,
    ) -> None:
        if backend is not None and not isinstance(backend, ThrottleBackend):
            raise ConfigurationError(f"ThrottleMiddleware: backend must be a ThrottleBackend or None, got {backend!r}")
        wrapped: list[MiddlewareThrottle] = []
        for item in middleware_throttles:
            if isinstance(item, MiddlewareThrottle):
                wrapped.append(item)
            elif isinstance(item, BaseThrottle):
                wrapped.append(MiddlewareThrottle(item))
            else:
                raise ConfigurationError(
                    "ThrottleMiddleware: middleware_throttles must hold MiddlewareThrottle or HTTPThrottle, "
                    f"got {item!r}"
                )
        self.app = app
        self.middleware_throttles: tuple[MiddlewareThrottle, ...] = tuple(wrapped)
        self.backend = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope_type = scope["type"]
        if scope_type != "http" and scope_type != "websocket":
            await self.app(scope, receive, send)
            return
        token = _active_backend.set(self.backend) if self.backend is not None else None
        try:
            send = headers_injector(scope, send)
            if self.middleware_throttles:
                connection: HTTPConnection = (
                    HTTPConnection(scope, receive) if scope_type == "http" else WebSocket(scope, receive, send)
                )
                try:
                    for throttle in self.middleware_throttles:
                        await throttle(connection)
                except HTTPException as exc:
                    if isinstance(connection, WebSocket) and not _can_deny_handshake(scope):
                        # Without the denial response extension a handshake can only be refused
                        # by closing it: 1008, policy violation.
                        await connection.close(code=_POLICY_VIOLATION)
                        return
                    response = await _error_response(scope, connection, exc)
                    if response is None:
                        return
                    if isinstance(connection, WebSocket):
                        await connection.send_denial_response(response)
                    else:
                        await response(scope, receive, send)
                    return
            await self.app(scope, receive, send)
        finally:
            if token is not None:
                _active_backend.reset(token)
