"""The FastAPI dependency behind ``throttled(...)``: hit every throttle, hand the headers to FastAPI."""

# No ``from __future__ import annotations``: FastAPI before 0.123.7 reads the
# annotations of a dependency's ``__call__`` without resolving strings, and would
# take the connection parameter for a query parameter (a 422 on every request).

from collections.abc import Sequence
from typing import Any, Final, Literal

from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket
from traffik.exceptions import ConfigurationError
from traffik.throttles import BaseThrottle, HTTPThrottle, WebSocketThrottle, warn_if_headers_lost

__all__ = ["ConnectionKind", "ThrottleGuard", "connection_kind_of"]

ConnectionKind = Literal["http", "websocket"]

_KIND_NAMES: Final[dict[ConnectionKind, str]] = {"http": "HTTP", "websocket": "WebSocket"}


def connection_kind_of(throttles: Sequence[BaseThrottle[Any]]) -> ConnectionKind:
    """The one connection type ``throttles`` are for; mixing HTTP and WebSocket throttles is an error."""
    if not throttles:
        raise ConfigurationError("throttled(): throttles must name at least one throttle, got none")
    kinds: set[ConnectionKind] = set()
    for throttle in throttles:
        if isinstance(throttle, WebSocketThrottle):
            kinds.add("websocket")
        elif isinstance(throttle, BaseThrottle):
            kinds.add("http")
        else:
            raise ConfigurationError(
                f"throttled(): throttles must be HTTPThrottle or WebSocketThrottle objects, got {throttle!r}"
            )
    if len(kinds) > 1:
        raise ConfigurationError(
            "throttled(): throttles must all be HTTPThrottle or all WebSocketThrottle (one route is one "
            f"connection type), got {list(throttles)!r}"
        )
    return kinds.pop()


class ThrottleGuard:
    """Callable FastAPI dependency: hits each throttle in order, then exposes the headers to FastAPI.

    FastAPI inspects ``__call__``: it receives the connection (request or
    WebSocket) and, for HTTP, the per-request ``Response`` whose headers
    FastAPI copies onto responses it builds itself (dicts, models).
    Responses an endpoint builds on its own get the headers from
    ``@throttled``'s wrapper or from :class:`~traffik.decorators.ThrottledRoute`
    / :func:`~traffik.decorators.install`.

    Attributes:
        throttles: The throttles, hit in this order.
        kind: ``"http"`` or ``"websocket"``.
        openapi: Whether the OpenAPI schema documents these throttles.
    """

    __slots__ = ("kind", "openapi", "throttles")

    def __init__(self, throttles: tuple[BaseThrottle[Any], ...], kind: ConnectionKind, openapi: bool) -> None:
        self.throttles = throttles
        self.kind: ConnectionKind = kind
        self.openapi = openapi

    def __repr__(self) -> str:
        return f"ThrottleGuard({', '.join(t.uid for t in self.throttles)})"

    async def __call__(self, connection: HTTPConnection, response: Response) -> HTTPConnection:
        """Hit every throttle; a throttled connection raises (429) before the endpoint runs."""
        is_websocket = isinstance(connection, WebSocket)
        if is_websocket != (self.kind == "websocket"):
            used_on = "WebSocket" if is_websocket else "HTTP"
            raise ConfigurationError(
                f"throttled(): {_KIND_NAMES[self.kind]} throttles {[t.uid for t in self.throttles]!r} used on "
                f"the {used_on} route {connection.scope.get('path')!r}; use "
                f"{'WebSocketThrottle' if is_websocket else 'HTTPThrottle'} there"
            )
        for throttle in self.throttles:
            await throttle.hit(connection)
        if not is_websocket:
            warn_if_headers_lost(connection.scope)
            headers = HTTPThrottle.response_headers(connection)
            if headers:
                response_headers = response.headers
                for name, value in headers.items():
                    response_headers[name] = value
        return connection
