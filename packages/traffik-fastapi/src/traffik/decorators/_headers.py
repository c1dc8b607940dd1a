"""Rate limit headers on every response of a throttled route, whatever the endpoint returns.

FastAPI copies a dependency's response headers only onto responses it builds
(from a dict or a model); a ``Response`` the endpoint returns itself loses
them. Both helpers here wrap the ASGI ``send`` instead, so the headers the
throttles recorded for the request are set when the response starts: on a
``JSONResponse``, a ``StreamingResponse``, a file, a 429 and a denied
WebSocket handshake alike.

When several throttles apply, each header name carries the value of the most
restrictive one (a throttle that denied the request, then the fewest hits
remaining, then the longest wait); headers only one throttle sets (like the
IETF ``RateLimit-Policy`` with per-throttle policy names) all appear.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from traffik.throttles import headers_injector

__all__ = ["RateLimitHeadersMiddleware", "ThrottledRoute"]


class RateLimitHeadersMiddleware:
    """ASGI middleware: set the rate limit headers recorded during a request on its response.

    It runs no throttle itself (for that, see
    :class:`~traffik.middleware.ThrottleMiddleware`, which does this too).
    :func:`~traffik.decorators.install` adds it for you.

    Example:
        >>> from fastapi import FastAPI
        >>> app = FastAPI()
        >>> app.add_middleware(RateLimitHeadersMiddleware)
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" or scope["type"] == "websocket":
            send = headers_injector(scope, send)
        await self.app(scope, receive, send)


class ThrottledRoute(APIRoute):
    """An ``APIRoute`` that puts the rate limit headers on every response of the route.

    Use it for one router (``APIRouter(route_class=ThrottledRoute)``) or for
    the app's routes (``app.router.route_class = ThrottledRoute`` before
    adding routes) when you prefer it to :func:`~traffik.decorators.install`'s
    middleware. Routes without throttles behave exactly like ``APIRoute``.

    Example:
        >>> from fastapi import APIRouter
        >>> router = APIRouter(route_class=ThrottledRoute)
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().handle(scope, receive, headers_injector(scope, send))
