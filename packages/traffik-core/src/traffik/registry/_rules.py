"""Gating rules: decide per connection whether a throttle applies."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Final, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError
from traffik.registry._glob import PathMatcher, compile_path
from traffik.validation import callable_, non_empty_string, optional

__all__ = ["BypassThrottleRule", "RulePredicate", "ThrottleRule"]

RulePredicate = Callable[..., Union[bool, Awaitable[bool]]]
"""``(connection) -> bool`` or ``(connection, context) -> bool``, sync or async."""

_WEBSOCKET_METHODS: Final = frozenset({"WEBSOCKET", "WS"})
_METHOD: Final = non_empty_string.described("non-empty strings")
_PREDICATE: Final = optional(callable_())


def with_head(methods: frozenset[str] | None) -> frozenset[str] | None:
    """``methods`` plus ``HEAD`` when it names ``GET``: Starlette serves HEAD with the GET endpoint.

    Without it a filter naming GET lets every HEAD request through unthrottled.
    """
    if methods is None or "GET" not in methods:
        return methods
    return methods | {"HEAD"}


def _takes_context(predicate: Callable[..., Any], owner: str) -> bool:
    """Whether ``predicate`` accepts a second positional argument (decided once, at construction)."""
    try:
        signature = inspect.signature(predicate)
    except (TypeError, ValueError):
        return True  # builtins without a signature: assume the documented two-argument form
    positional = 0
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            positional += 1
    if positional == 0:
        raise ConfigurationError(
            f"{owner}: predicate must accept (connection) or (connection, context), got {predicate!r}"
        )
    return positional >= 2


class ThrottleRule:
    """A gate: the throttle fires only for connections this rule matches.

    All given conditions are ANDed. ``methods`` are case-insensitive; a rule
    naming ``GET`` also matches ``HEAD`` (Starlette serves HEAD with the GET
    endpoint); a rule with a ``methods`` filter never matches a WebSocket
    unless it names ``"WEBSOCKET"`` (or ``"WS"``).

    Args:
        path: ``None`` (every path), a glob (``*`` one segment, ``**`` any
            number, anchored at both ends), an exact path, or a compiled regex
            (used as given, with ``search``).
        methods: HTTP methods to match, e.g. ``{"POST", "PUT"}``; ``None`` for all.
        predicate: ``(connection)`` or ``(connection, context)``, sync or async,
            returning whether the rule matches.

    Raises:
        ConfigurationError: A malformed path, a non-string method, or a
            non-callable predicate, named with its value.

    Example:
        >>> rule = ThrottleRule(path="/api/**", methods={"post"})
        >>> rule.methods
        frozenset({'POST'})
    """

    __slots__ = ("_match_methods", "_match_path", "_predicate_takes_context", "methods", "path", "predicate")

    #: ``True`` for rules that skip the throttle when they match.
    bypass: bool = False

    def __init__(
        self,
        path: str | re.Pattern[str] | None = None,
        methods: Iterable[str] | None = None,
        predicate: RulePredicate | None = None,
    ) -> None:
        owner = type(self).__name__
        self.path = path
        self._match_path: PathMatcher | None = compile_path(path, owner)
        if methods is None:
            self.methods: frozenset[str] | None = None
        else:
            if isinstance(methods, str):
                methods = (methods,)
            try:
                names = list(methods)
            except TypeError:
                raise ConfigurationError(f"{owner}: methods must be an iterable of strings, got {methods!r}") from None
            for name in names:
                _METHOD(owner, "methods", name)
            self.methods = frozenset(name.upper() for name in names)
        self._match_methods = with_head(self.methods)
        _PREDICATE(owner, "predicate", predicate)
        self.predicate = predicate
        self._predicate_takes_context = predicate is not None and _takes_context(predicate, owner)

    async def matches(self, connection: HTTPConnection, context: Mapping[str, Any] | None = None) -> bool:
        """Whether every condition of this rule holds for ``connection``."""
        scope = connection.scope
        if self._match_path is not None and not self._match_path(scope["path"]):
            return False
        if self._match_methods is not None:
            if scope["type"] == "websocket":
                if self._match_methods.isdisjoint(_WEBSOCKET_METHODS):
                    return False
            elif scope["method"] not in self._match_methods:
                return False
        predicate = self.predicate
        if predicate is None:
            return True
        result = predicate(connection, context) if self._predicate_takes_context else predicate(connection)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(path={self.path!r}, methods={self.methods!r}, predicate={self.predicate!r})"


class BypassThrottleRule(ThrottleRule):
    """The inverse gate: when every condition matches, the throttle is skipped.

    Same parameters as :class:`ThrottleRule`.

    Example:
        >>> BypassThrottleRule(path="/health").bypass
        True
    """

    __slots__ = ()

    bypass = True
