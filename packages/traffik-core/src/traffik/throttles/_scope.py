"""What a throttle leaves in the ASGI scope for one request: identities and resolved headers.

Headers are resolved from the hit's own decision and recorded in the scope;
the thin wrappers (FastAPI dependency, Starlette decorator, middleware) copy
them onto the response when it starts, whatever the endpoint returned.

Several throttles on one route: for each header name the value of the most
restrictive throttle wins: a throttle that denied the request first, then the
one with the fewest hits remaining, then the one with the longest wait.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, Final

from starlette.datastructures import MutableHeaders
from starlette.types import Message, Scope, Send

if TYPE_CHECKING:
    from traffik.types import StrategyStat

__all__ = [
    "HEADERS_KEY",
    "IDS_KEY",
    "INJECTED_KEY",
    "HitRecord",
    "headers_injector",
    "merged_headers",
    "record_hit",
]

IDS_KEY: Final = "traffik.ids"
"""Scope key: ``{identifier: identity}`` cached for the connection (``cache_ids=True``)."""

HEADERS_KEY: Final = "traffik.headers"
"""Scope key: list of :class:`HitRecord` for the throttles that resolved headers."""

INJECTED_KEY: Final = "traffik.headers_injected"
"""Scope key: ``True`` when a :func:`headers_injector` wraps this connection's ``send``."""


class HitRecord:
    """One throttle's hit in this request: its stat and the headers it resolved."""

    __slots__ = ("allowed", "headers", "stat", "throttle")

    def __init__(self, throttle: object, stat: StrategyStat, allowed: bool, headers: dict[str, str]) -> None:
        self.throttle = throttle
        self.stat = stat
        self.allowed = allowed
        self.headers = headers

    def restrictiveness(self) -> tuple[bool, float, float]:
        """Sort key: most restrictive first."""
        return (self.allowed, self.stat.hits_remaining, -self.stat.wait_ms)


def record_hit(scope: MutableMapping[str, Any], record: HitRecord) -> None:
    """Add ``record`` to the scope's hit records, replacing an earlier one of the same throttle.

    Replacing keeps the list as short as the number of throttles, even on a
    WebSocket hit once per message for hours.
    """
    records: list[HitRecord] | None = scope.get(HEADERS_KEY)
    if records is None:
        scope[HEADERS_KEY] = [record]
        return
    for index, existing in enumerate(records):
        if existing.throttle is record.throttle:
            records[index] = record
            return
    records.append(record)


def merged_headers(scope: MutableMapping[str, Any]) -> dict[str, str]:
    """The headers to send for this request, most restrictive throttle first."""
    records: list[HitRecord] | None = scope.get(HEADERS_KEY)
    if not records:
        return {}
    if len(records) == 1:
        return records[0].headers
    merged: dict[str, str] = {}
    lowered: set[str] = set()
    for record in sorted(records, key=HitRecord.restrictiveness):
        for name, value in record.headers.items():
            key = name.lower()
            if key not in lowered:
                lowered.add(key)
                merged[name] = value
    return merged


def headers_injector(scope: Scope, send: Send) -> Send:
    """Wrap ``send`` so the recorded headers are set on the response when it starts.

    It also marks the scope (:data:`INJECTED_KEY`), so a FastAPI dependency
    knows the headers will reach every response and need not warn.
    """
    scope[INJECTED_KEY] = True

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start" or message["type"] == "websocket.http.response.start":
            headers = merged_headers(scope)
            if headers:
                mutable = MutableHeaders(scope=message)
                for name, value in headers.items():
                    mutable[name] = value
        await send(message)

    return send_with_headers
