"""WebSocket throttles: per connection (before ``accept``) and per message (inside the handler)."""

# No ``from __future__ import annotations``: FastAPI before 0.123.7 reads the
# annotations of a dependency's ``__call__`` without resolving strings, and would
# take the connection parameter for a query parameter (a 422 on every request).

from collections.abc import Mapping
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from traffik.exceptions import (
    BACKEND_ERROR_KEY,
    SERVICE_UNAVAILABLE,
    ConnectionThrottled,
    retry_after_seconds,
    retry_detail,
)
from traffik.throttles._base import BaseThrottle
from traffik.throttles._scope import merged_headers

__all__ = ["WebSocketThrottle"]


class WebSocketThrottle(BaseThrottle[WebSocket]):
    """Rate limiter for WebSocket connections and messages.

    Takes the same parameters as :class:`~traffik.throttles.HTTPThrottle`.
    Keys use ``WEBSOCKET`` as the method component.

    * Before ``accept`` (a FastAPI dependency, middleware): a throttled
      handshake is denied with HTTP 429.
    * Inside an accepted socket, call ``if await throttle.allow(websocket):``
      per message: one backend round trip consumes the message's quota and
      answers whether to process it. A throttled message makes the client
      receive ``{"type": "rate_limit", "error": "Too many messages",
      "retry_after": N}``, the connection stays open, and ``allow`` returns
      ``False``. (``hit`` sends the same frame but returns normally, and
      :meth:`check` followed by ``hit`` races: two round trips, and other
      sockets sharing the key may spend the quota in between.)

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

    async def allow(
        self, websocket: WebSocket, cost: int | None = None, context: Mapping[str, Any] | None = None
    ) -> bool:
        """Consume quota for one message and say whether to process it: one atomic backend call.

        Args:
            websocket: The accepted socket the message came from.
            cost: Overrides the throttle's cost for this message; ``0`` skips it.
            context: Merged over the throttle's static context for this message.

        Returns:
            ``True`` when the message may be processed (admitted, or the throttle
            does not apply: disabled, exempted, skipped by a rule, a cost of 0,
            a backend failure under ``on_error="allow"``). ``False`` when it is
            over the limit (or the backend failed under ``on_error="throttle"``):
            the throttled handler has run (by default it sent the rate-limit
            frame) and the message must be dropped.

        Raises:
            ConnectionThrottled: Over the limit before ``accept`` (the handshake is denied).
            ValueError: A negative ``cost``.

        Example:
            >>> async def echo(websocket):  # doctest: +SKIP
            ...     await websocket.accept()
            ...     async for message in websocket.iter_text():
            ...         if await messages.allow(websocket):
            ...             await websocket.send_text(message)
        """
        return await self._hit(websocket, cost, context)

    async def default_handle_throttled(self, connection: WebSocket, wait_ms: float, context: Mapping[str, Any]) -> None:
        """Send the rate-limit frame on an accepted socket; deny the handshake (429) otherwise.

        When the backend failed (``on_error="throttle"``) the frame's ``error`` is
        ``"Rate limit service unavailable"`` (and so is the 429's detail).
        """
        outage = BACKEND_ERROR_KEY in context
        retry_after = retry_after_seconds(wait_ms)
        if getattr(connection, "application_state", None) is WebSocketState.CONNECTED:
            error = SERVICE_UNAVAILABLE if outage else "Too many messages"
            await connection.send_json({"type": "rate_limit", "error": error, "retry_after": retry_after})
            return
        detail = retry_detail(retry_after, SERVICE_UNAVAILABLE) if outage else None
        raise ConnectionThrottled(wait_ms, detail, headers=merged_headers(connection.scope))
