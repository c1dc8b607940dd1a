"""A throttle as the middleware runs it: with its own cost, predicate and path/method filters."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError
from traffik.keys import escape_component
from traffik.registry import compile_path
from traffik.registry._rules import with_head
from traffik.throttles._base import BaseThrottle
from traffik.throttles._config import normalise_cost
from traffik.types import CostFunc

__all__ = ["MiddlewareThrottle"]

MiddlewarePredicate = Callable[[Any], Union[bool, Awaitable[bool]]]
"""``(request) -> bool``, sync or async."""


def _pattern_key(path: str | re.Pattern[str] | None) -> str:
    """The key's path component for a pattern.

    It never starts with ``/``, so it cannot equal a concrete path or a route
    template that another use of the same throttle keys on.
    """
    if path is None:
        return "glob=**"  # every path, as the glob "**"
    if isinstance(path, re.Pattern):
        return f"regex={path.pattern}"
    return f"glob={path}"


class MiddlewareThrottle:
    """Wraps a throttle for :class:`~traffik.middleware.ThrottleMiddleware`.

    Args:
        throttle: The :class:`~traffik.throttles.HTTPThrottle` (or
            :class:`~traffik.throttles.WebSocketThrottle`) to run.
        cost: Cost for this middleware (an int or async callable
            ``(request, context) -> int``); ``None`` uses the throttle's.
        predicate: ``(request) -> bool`` (sync or async); the throttle only
            applies when it returns ``True``.
        path: Only requests whose path matches (glob, exact path or compiled
            regex, as in :class:`~traffik.registry.ThrottleRule`).
        methods: Only these HTTP methods (case-insensitive; naming ``GET``
            also matches ``HEAD``, which Starlette serves with the GET
            endpoint); WebSockets only if ``"WEBSOCKET"`` is named.
        per_path: ``False`` (the default): one counter per client for the
            whole ``path`` pattern (every path when there is none), per method
            if the throttle has ``use_method=True``. ``True``: one counter per
            concrete path, as the request arrives (the middleware runs before
            routing, so ``/items/1`` and ``/items/2`` are two counters and a
            client can multiply its quota by varying path parameters).

    Raises:
        ConfigurationError: Invalid argument, named with its value.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> inner = HTTPThrottle("doc:mw", rate="100/min", backend=InMemoryBackend(), registry=ThrottleRegistry())
        >>> MiddlewareThrottle(inner, path="/api/**", methods=["post"]).methods
        frozenset({'POST'})
    """

    __slots__ = (
        "_cost",
        "_cost_func",
        "_key_path",
        "_match_methods",
        "_match_path",
        "cost",
        "methods",
        "path",
        "per_path",
        "predicate",
        "throttle",
    )

    def __init__(
        self,
        throttle: BaseThrottle[Any],
        cost: int | CostFunc | None = None,
        predicate: MiddlewarePredicate | None = None,
        *,
        path: str | re.Pattern[str] | None = None,
        methods: Iterable[str] | None = None,
        per_path: bool = False,
    ) -> None:
        if not isinstance(throttle, BaseThrottle):
            raise ConfigurationError(f"MiddlewareThrottle: throttle must be an HTTPThrottle, got {throttle!r}")
        owner = f"MiddlewareThrottle({throttle.uid!r})"
        self.throttle = throttle
        self.cost = cost
        self._cost: int | None = None
        self._cost_func: CostFunc | None = None
        if cost is not None:
            self._cost, self._cost_func = normalise_cost(cost, owner)
        if predicate is not None and not callable(predicate):
            raise ConfigurationError(f"{owner}: predicate must be callable or None, got {predicate!r}")
        self.predicate = predicate
        self.path = path
        self._match_path = compile_path(path, owner)
        if not isinstance(per_path, bool):
            raise ConfigurationError(f"{owner}: per_path must be True or False, got {per_path!r}")
        self.per_path = per_path
        # The path component of the key (escaped once, here): the pattern itself, so the whole
        # pattern is one counter.
        self._key_path: str | None = None if per_path else escape_component(_pattern_key(path))
        if methods is None:
            self.methods: frozenset[str] | None = None
        else:
            if isinstance(methods, str):
                methods = (methods,)
            names = tuple(methods)
            if not all(isinstance(name, str) and name for name in names):
                raise ConfigurationError(f"{owner}: methods must be non-empty strings, got {methods!r}")
            self.methods = frozenset(name.upper() for name in names)
        self._match_methods = with_head(self.methods)

    def applies_to(self, scope_type: str, method: str | None, path: str) -> bool:
        """Whether the path/method filters let this request through (the predicate is separate)."""
        if self._match_path is not None and not self._match_path(path):
            return False
        methods = self._match_methods
        if methods is None:
            return True
        if scope_type == "websocket":
            return "WEBSOCKET" in methods or "WS" in methods
        return method in methods

    async def __call__(self, connection: HTTPConnection) -> None:
        """Run the throttle for ``connection`` if the filters and the predicate agree."""
        scope = connection.scope
        if not self.applies_to(scope["type"], scope.get("method"), scope["path"]):
            return
        predicate = self.predicate
        if predicate is not None:
            verdict = predicate(connection)
            if inspect.isawaitable(verdict):
                verdict = await verdict
            if not verdict:
                return
        cost = self._cost
        if self._cost_func is not None:
            value = self._cost_func(connection, self.throttle.context)
            cost = await value if inspect.isawaitable(value) else value
        await self.throttle._hit(connection, cost, None, self._key_path)

    def __repr__(self) -> str:
        return (
            f"MiddlewareThrottle({self.throttle!r}, cost={self.cost!r}, path={self.path!r}, "
            f"methods={self.methods!r}, per_path={self.per_path!r})"
        )
