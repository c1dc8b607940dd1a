"""Building storage keys that can never collide, and that every backend can store.

Every component is escaped before it is joined with ``:``, so
``("a:b", "c")`` and ``("a", "b:c")`` give different keys. A lone surrogate
(``"user\\udcff"``, which a JSON body can carry) cannot be encoded as UTF-8,
so it is written as ``\\udcff`` with a single backslash; a backslash in the
component itself is always doubled, so the escape can never be confused
with text the client sent.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["build_key", "escape_component"]

_SURROGATES: Final = range(0xD800, 0xE000)
_HAS_SURROGATE: Final = re.compile("[\ud800-\udfff]").search
_ESCAPES: Final = str.maketrans(
    {"\\": "\\\\", ":": "\\:", **{chr(code): f"\\u{code:04x}" for code in _SURROGATES}},
)


def escape_component(part: str) -> str:
    """Escape ``\\``, ``:`` and lone surrogates, so the component joins unambiguously and encodes as UTF-8.

    The mapping is injective: two different components never escape to the
    same text.

    Example:
        >>> escape_component("a:b")
        'a\\\\:b'
        >>> escape_component("user\\udcff").encode()
        b'user\\\\udcff'
    """
    if ":" not in part and "\\" not in part and (part.isascii() or _HAS_SURROGATE(part) is None):
        return part
    return part.translate(_ESCAPES)


def build_key(*parts: str) -> str:
    """Join escaped components with ``:``.

    Example:
        >>> build_key("a:b", "c") != build_key("a", "b:c")
        True
    """
    return ":".join(escape_component(part) for part in parts)
