"""Throttles: HTTP, WebSocket, middleware, and the Starlette decorator.

Example:
    >>> from traffik.throttles import HTTPThrottle, RequestThrottle
    >>> RequestThrottle is HTTPThrottle
    True
"""

from traffik.throttles._base import BaseThrottle
from traffik.throttles._decorator import throttled
from traffik.throttles._header_loss import INSTALLED_ATTRIBUTE, warn_if_headers_lost
from traffik.throttles._http import HTTPThrottle, RequestThrottle
from traffik.throttles._middleware_throttle import MiddlewareThrottle
from traffik.throttles._scope import headers_injector, merged_headers
from traffik.throttles._websocket import WebSocketThrottle

__all__ = [
    "INSTALLED_ATTRIBUTE",
    "BaseThrottle",
    "HTTPThrottle",
    "MiddlewareThrottle",
    "RequestThrottle",
    "WebSocketThrottle",
    "headers_injector",
    "merged_headers",
    "throttled",
    "warn_if_headers_lost",
]
