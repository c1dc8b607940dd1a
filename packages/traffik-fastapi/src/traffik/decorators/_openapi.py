"""OpenAPI: document the 429, the rate limit headers and the policy of every throttled route.

A route is throttled when its dependencies (its own, its router's, the app's)
include ``throttled(...)`` or a throttle used as ``Depends(throttle)``.
Throttles run by :class:`~traffik.middleware.ThrottleMiddleware` or by a
direct ``hit()`` in the endpoint are invisible here: document those routes
with FastAPI's ``responses=`` yourself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any, Final, Protocol

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from traffik.decorators._guard import ThrottleGuard
from traffik.headers import Header, Headers
from traffik.throttles import BaseThrottle

__all__ = ["describe_policy", "document_throttles", "route_throttles", "too_many_requests_response"]

RATE_LIMITS_EXTENSION: Final = "x-rate-limits"
"""Operation extension listing the route's limits: ``[{"throttle", "policy", "limit", "window_seconds"}]``."""

_INTEGER: Final[dict[str, Any]] = {"type": "integer", "minimum": 0}
_STRING: Final[dict[str, Any]] = {"type": "string"}

# Header builders' resolvers are named functions; their names say what the value means.
_RESOLVER_DOCS: Final[dict[str, tuple[str, dict[str, Any]]]] = {
    "limit": ("Requests allowed per window (of the most restrictive limit).", _INTEGER),
    "remaining": ("Requests left in the current window.", _INTEGER),
    "reset_seconds": ("Seconds until a request can pass (0 when one can now).", _INTEGER),
    "reset_milliseconds": ("Milliseconds until a request can pass.", _INTEGER),
    "ratelimit": ("IETF draft RateLimit field: remaining quota (r) and seconds until it resets (t).", _STRING),
    "ratelimit_policy": ("IETF draft RateLimit-Policy field: quota (q) per window of w seconds.", _STRING),
}

_RETRY_AFTER: Final[dict[str, Any]] = {
    "description": "Seconds to wait before retrying (rounded up, at least 1).",
    "schema": {"type": "integer", "minimum": 1},
}

_DEFAULT_BODY_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}

_PROBLEM_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds to wait before retrying."},
    },
    "required": ["type", "title", "status", "detail", "retry_after"],
}


class RouteLike(Protocol):
    """What documenting reads from a route: an ``APIRoute``, or FastAPI's view of an included one."""

    @property
    def dependant(self) -> Dependant: ...

    @property
    def path_format(self) -> str: ...

    @property
    def methods(self) -> set[str] | None: ...

    @property
    def include_in_schema(self) -> bool: ...


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[RouteLike]:
    """Every ``APIRoute`` of ``routes``, with its effective path and dependencies (included routers too)."""
    iter_route_contexts = getattr(routing, "iter_route_contexts", None)
    if iter_route_contexts is None:
        # FastAPI before lazy router inclusion copies included routes into ``app.routes``.
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
        return
    for context in iter_route_contexts(list(routes)):
        if isinstance(context.original_route, APIRoute):
            # The context forwards attribute reads to the effective route (prefix and dependencies applied).
            yield context


def route_throttles(route: RouteLike) -> list[BaseThrottle[Any]]:
    """The throttles a route's dependencies run, in order, without those hidden by ``openapi=False``."""
    found: list[BaseThrottle[Any]] = []

    def visit(dependant: Dependant) -> None:
        call: object = dependant.call
        if isinstance(call, ThrottleGuard):
            candidates: tuple[BaseThrottle[Any], ...] = call.throttles if call.openapi else ()
        elif isinstance(call, BaseThrottle):
            candidates = (call,)
        else:
            candidates = ()
        for throttle in candidates:
            if throttle not in found:
                found.append(throttle)
        for sub in dependant.dependencies:
            visit(sub)

    visit(route.dependant)
    return found


def describe_policy(throttle: BaseThrottle[Any]) -> str:
    """A throttle's policy in words, e.g. ``"100/min per client"``.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> describe_policy(HTTPThrottle("doc:p", rate="100/min", use_method=False, registry=ThrottleRegistry()))
        '100/min per client'
    """
    rate = throttle.rate
    text = "a rate computed per request" if rate is None else ("unlimited" if rate.unlimited else str(rate))
    # Core has no public accessor for use_method; see the package docs.
    per_endpoint = throttle.use_method
    return f"{text} per client and endpoint" if per_endpoint else f"{text} per client"


def _configured_headers(throttle: BaseThrottle[Any]) -> Headers | None:
    # Core has no public accessor for a throttle's header collection; see the package docs.
    return throttle.headers


def _header_doc(header: Header) -> dict[str, Any]:
    if isinstance(header.v, str):
        return {"description": f"Always {header.v!r}.", "schema": _STRING}
    description, schema = _RESOLVER_DOCS.get(getattr(header.v, "__name__", ""), ("Rate limit information.", _STRING))
    if callable(header.when):
        description += " Sent when the throttle's condition holds."
    return {"description": description, "schema": schema}


def _headers_docs(throttles: Iterable[BaseThrottle[Any]], *, throttled: bool) -> dict[str, Any]:
    """Header name -> OpenAPI header object, for 429s (``throttled``) or for other responses."""
    docs: dict[str, Any] = {}
    lowered: set[str] = set()
    for throttle in throttles:
        headers = _configured_headers(throttle)
        if headers is None:
            continue
        for name, header in headers.items():
            if not isinstance(header, Header) or name.lower() in lowered:
                continue
            if header.when == "throttled" and not throttled:
                continue
            lowered.add(name.lower())
            docs[name] = _header_doc(header)
    return docs


def too_many_requests_response(
    throttles: Iterable[BaseThrottle[Any]], problem: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The OpenAPI response object of a 429 from these throttles.

    Args:
        throttles: The route's throttles.
        problem: ``(type URI, title)`` when 429s are RFC 9457 problems; ``None``
            for the default ``{"detail": ...}`` body.

    Example:
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> api = HTTPThrottle("doc:429", rate="100/min", use_method=False, registry=ThrottleRegistry())
        >>> too_many_requests_response([api])["description"]
        'Too Many Requests: a rate limit was exceeded. Limits: 100/min per client (doc:429).'
    """
    throttles = list(throttles)
    policies = "; ".join(f"{describe_policy(t)} ({t.uid})" for t in throttles)
    headers = {"Retry-After": _RETRY_AFTER}
    for name, doc in _headers_docs(throttles, throttled=True).items():
        if name.lower() != "retry-after":
            headers[name] = doc
    windows = [t.rate.expire for t in throttles if t.rate is not None and not t.rate.unlimited]
    retry_after = max(1, math.ceil(min(windows) / 1_000)) if windows else 1
    # Spelled out here rather than traffik.exceptions.retry_detail: older traffik-core releases lack it.
    detail = f"Too many requests. Retry in {retry_after} {'second' if retry_after == 1 else 'seconds'}."
    if problem is not None:
        content = {
            "application/problem+json": {
                "schema": _PROBLEM_SCHEMA,
                "example": {
                    "type": problem[0],
                    "title": problem[1],
                    "status": 429,
                    "detail": detail,
                    "retry_after": retry_after,
                },
            }
        }
    else:
        content = {"application/json": {"schema": _DEFAULT_BODY_SCHEMA, "example": {"detail": detail}}}
    return {
        "description": f"Too Many Requests: a rate limit was exceeded. Limits: {policies}.",
        "headers": headers,
        "content": content,
    }


def _limits(throttles: Iterable[BaseThrottle[Any]]) -> list[dict[str, Any]]:
    limits: list[dict[str, Any]] = []
    for throttle in throttles:
        entry: dict[str, Any] = {"throttle": throttle.uid, "policy": describe_policy(throttle)}
        rate = throttle.rate
        if rate is not None and not rate.unlimited:
            entry["limit"] = rate.limit
            seconds = rate.expire / 1_000
            entry["window_seconds"] = int(seconds) if seconds.is_integer() else seconds
        limits.append(entry)
    return limits


def document_throttles(
    schema: dict[str, Any], routes: Iterable[BaseRoute], problem: tuple[str, str] | None = None
) -> None:
    """Add the 429, the headers and ``x-rate-limits`` to the throttled operations of ``schema``, in place.

    A ``429`` the route already documents (``responses={429: ...}``) is kept.
    ``problem`` is as in :func:`too_many_requests_response`.
    """
    paths: dict[str, Any] = schema.get("paths") or {}
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        path_item = paths.get(route.path_format)
        if not isinstance(path_item, dict):
            continue
        throttles = route_throttles(route)
        if not throttles:
            continue
        success_headers = _headers_docs(throttles, throttled=False)
        for method in sorted(route.methods or ()):
            operation = path_item.get(method.lower())
            if not isinstance(operation, dict):
                continue
            responses: dict[str, Any] = operation.setdefault("responses", {})
            if "429" not in responses:
                responses["429"] = too_many_requests_response(throttles, problem)
            for code, response in responses.items():
                if code.startswith("2") and isinstance(response, dict) and success_headers:
                    documented: dict[str, Any] = response.setdefault("headers", {})
                    for name, doc in success_headers.items():
                        documented.setdefault(name, doc)
            operation[RATE_LIMITS_EXTENSION] = _limits(throttles)
