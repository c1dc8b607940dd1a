"""Starlette connections built from an ASGI scope, for driving throttles without a server."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

__all__ = ["make_request"]


def make_request(
    path: str = "/items",
    method: str = "GET",
    client: str = "203.0.113.7",
    headers: Iterable[tuple[str, str]] = (),
) -> Request:
    """An HTTP request as a route would receive it.

    Args:
        path: The URL path.
        method: The HTTP method.
        client: The peer address (what :func:`traffik.get_remote_address` returns).
        headers: Extra request headers.

    Example:
        >>> make_request("/a", client="198.51.100.1").client.host
        '198.51.100.1'
    """
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        "client": (client, 50_000),
        "server": ("testserver", 80),
        "app": None,
    }
    return Request(scope)
