"""Building storage keys that can never collide.

Every component is escaped before it is joined with ``:``, so
``("a:b", "c")`` and ``("a", "b:c")`` give different keys.
"""

from __future__ import annotations

__all__ = ["build_key", "escape_component"]

_ESCAPES = str.maketrans({"\\": "\\\\", ":": "\\:"})


def escape_component(part: str) -> str:
    """Escape ``\\`` and ``:`` so the component can be joined with ``:`` unambiguously."""
    if ":" not in part and "\\" not in part:
        return part
    return part.translate(_ESCAPES)


def build_key(*parts: str) -> str:
    """Join escaped components with ``:``.

    Example:
        >>> build_key("a:b", "c") != build_key("a", "b:c")
        True
    """
    return ":".join(escape_component(part) for part in parts)
