"""WebSocket throttles: per connection (before ``accept``) and per message (inside the handler)."""

# No ``from __future__ import annotations``: FastAPI before 0.123.7 reads the
# annotations of a dependency's ``__call__`` without resolving strings, and would
# take the connection parameter for a query parameter (a 422 on every request).

from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from traffik.exceptions import ConnectionThrottled, retry_after_seconds
from traffik.throttles._base import BaseThrottle
from traffik.throttles._scope import merged_headers

__all__ = ["WebSocketThrottle"]


class WebSocketThrottle(BaseThrottle[WebSocket]):
    """Rate limiter for WebSocket connections and messages.

    Takes the same parameters as :class:`~traffik.throttles.HTTPThrottle`.
    Keys use ``WEBSOCKET`` as the method component.

    * Before ``accept`` (a FastAPI dependency, middleware): a throttled
      handshake is denied with HTTP 429.
    * Inside an accepted socket, call ``await throttle.hit(websocket)`` per
      message: a throttled message makes the client receive
      ``{"type": "rate_limit", "error": "Too many messages", "retry_after": N}``
      and the connection stays open; ``hit`` then returns normally, so use
      :meth:`check` first, or a ``handle_throttled`` that closes the socket
      (code 1008), to stop processing.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> ws = WebSocketThrottle("doc:ws", rate="10/s", backend=InMemoryBackend(), registry=ThrottleRegistry())
        >>> ws.uid
        'doc:ws'
    """

    _KEY_METHOD = "WEBSOCKET"

    async def __call__(self, websocket: WebSocket) -> WebSocket:
        """FastAPI dependency for WebSocket routes (runs before ``accept``)."""
        await self._hit(websocket, None, None)
        return websocket

    async def default_handle_throttled(self, connection: WebSocket, wait_ms: float, context: Mapping[str, Any]) -> None:
        """Send the rate-limit frame on an accepted socket; deny the handshake (429) otherwise."""
        if getattr(connection, "application_state", None) is WebSocketState.CONNECTED:
            await connection.send_json(
                {"type": "rate_limit", "error": "Too many messages", "retry_after": retry_after_seconds(wait_ms)}
            )
            return
        raise ConnectionThrottled(wait_ms, headers=merged_headers(connection.scope))
