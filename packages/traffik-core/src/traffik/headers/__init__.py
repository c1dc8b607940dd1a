"""Rate limit response headers.

Example:
    >>> from traffik.headers import DEFAULT_HEADERS_ALWAYS, Header
    >>> custom = DEFAULT_HEADERS_ALWAYS | {"Retry-After": Header.DISABLE}
    >>> "Retry-After" in custom, "Retry-After" in DEFAULT_HEADERS_ALWAYS
    (True, True)
"""

from traffik.headers._header import DISABLE, Header, HeaderResolver, HeaderWhen
from traffik.headers._headers import Headers, HeadersLike, HeaderValue
from traffik.headers._presets import DEFAULT_HEADERS_ALWAYS, DEFAULT_HEADERS_THROTTLED, DRAFT_RATELIMIT_HEADERS

__all__ = [
    "DEFAULT_HEADERS_ALWAYS",
    "DEFAULT_HEADERS_THROTTLED",
    "DISABLE",
    "DRAFT_RATELIMIT_HEADERS",
    "Header",
    "HeaderResolver",
    "HeaderValue",
    "HeaderWhen",
    "Headers",
    "HeadersLike",
]
