"""Path patterns for rules: anchored globs compiled once to a matcher.

``*`` matches exactly one path segment (or, inside a segment, any run of
characters other than ``/``); ``**`` matches any number of segments,
including none. Globs are anchored at both ends. A string without ``*`` is an
exact path, compared without a regex. A compiled regex is used as given,
with :meth:`re.Pattern.search`, so its own anchors decide what it matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Union

from traffik.exceptions import ConfigurationError
from traffik.validation import invalid

__all__ = ["PathMatcher", "compile_path"]

PathMatcher = Callable[[str], bool]
"""A compiled path pattern: ``matcher(path) -> bool``."""

PathPattern = Union[str, "re.Pattern[str]"]

_ANY_SEGMENTS_AFTER_SLASH: Final = "(?:/.*)?"
_ANY_TEXT: Final = ".*"
_ONE_SEGMENT: Final = "[^/]+"
_PART_OF_SEGMENT: Final = "[^/]*"


def _glob_to_regex(pattern: str, owner: str) -> re.Pattern[str]:
    if "***" in pattern:
        raise ConfigurationError(f"{owner}: path {pattern!r} is malformed: use '*' (one segment) or '**' (any)")
    out: list[str] = []
    index, length = 0, len(pattern)
    while index < length:
        char = pattern[index]
        if pattern.startswith("**", index):
            previous_is_slash = bool(out) and out[-1] == re.escape("/")
            at_end_or_slash = index + 2 == length or pattern[index + 2] == "/"
            if previous_is_slash and at_end_or_slash:
                # "/**" also matches the bare prefix: "/api/**" matches "/api".
                out.pop()
                out.append(_ANY_SEGMENTS_AFTER_SLASH)
                if index + 2 < length:
                    # "/**/x": swallow the slash after "**" so "/a/**/x" matches "/a/x".
                    index += 1
                    out.append(re.escape("/"))
            else:
                out.append(_ANY_TEXT)
            index += 2
            continue
        if char == "*":
            whole_segment = (index == 0 or pattern[index - 1] == "/") and (
                index + 1 == length or pattern[index + 1] == "/"
            )
            out.append(_ONE_SEGMENT if whole_segment else _PART_OF_SEGMENT)
        else:
            out.append(re.escape(char))
        index += 1
    try:
        return re.compile("".join(out))
    except re.error as exc:  # pragma: no cover  # every part is escaped; kept as a guard
        raise ConfigurationError(f"{owner}: path {pattern!r} is malformed: {exc}") from None


def compile_path(pattern: object, owner: str = "ThrottleRule") -> PathMatcher | None:
    """Compile a rule's ``path`` into a matcher, or ``None`` for "every path".

    Args:
        pattern: ``None``, a glob string, an exact path, or a compiled regex.
        owner: Named in error messages (the rule or throttle being built).

    Raises:
        ConfigurationError: An empty string, ``***``, or a value of another type.

    Example:
        >>> match = compile_path("/api/*")
        >>> match("/api/users"), match("/api/users/1")
        (True, False)
        >>> compile_path("/api/**")("/api/users/1")
        True
    """
    if pattern is None:
        return None
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise invalid(owner, "path regex", "a str pattern", pattern)
        search = pattern.search
        return lambda path: search(path) is not None
    if not isinstance(pattern, str):
        raise invalid(owner, "path", "a string, a compiled regex or None", pattern)
    if not pattern:
        raise ConfigurationError(f"{owner}: path must not be empty, got {pattern!r} (use None for every path)")
    if "*" not in pattern:
        return pattern.__eq__
    fullmatch = _glob_to_regex(pattern, owner).fullmatch
    return lambda path: fullmatch(path) is not None
