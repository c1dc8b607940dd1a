"""Ready-made header collections (read-only: derive your own with ``|`` or ``.copy()``)."""

from __future__ import annotations

from typing import Final

from traffik.headers._header import Header
from traffik.headers._headers import Headers

__all__ = ["DEFAULT_HEADERS_ALWAYS", "DEFAULT_HEADERS_THROTTLED", "DRAFT_RATELIMIT_HEADERS"]

DEFAULT_HEADERS_ALWAYS: Final = Headers(
    {
        "X-RateLimit-Limit": Header.LIMIT(when="always"),
        "X-RateLimit-Remaining": Header.REMAINING(when="always"),
        "Retry-After": Header.RESET_SECONDS(when="always"),
    },
    frozen=True,
)
"""``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``Retry-After`` on every response."""

DEFAULT_HEADERS_THROTTLED: Final = Headers(
    {
        "X-RateLimit-Limit": Header.LIMIT(when="throttled"),
        "X-RateLimit-Remaining": Header.REMAINING(when="throttled"),
        "Retry-After": Header.RESET_SECONDS(when="throttled"),
    },
    frozen=True,
)
"""The same three headers, only when the client is out of quota (every 429)."""

DRAFT_RATELIMIT_HEADERS: Final = Headers(
    {
        "RateLimit": Header.RATELIMIT(when="always"),
        "RateLimit-Policy": Header.RATELIMIT_POLICY(when="always"),
    },
    frozen=True,
)
"""The IETF draft fields (draft-ietf-httpapi-ratelimit-headers) on every response.

``RateLimit: "default";r=<remaining>;t=<seconds>`` and
``RateLimit-Policy: "default";q=<limit>;w=<window seconds>``. For another
policy name, build your own with ``Header.RATELIMIT(when=..., policy="name")``.
"""
