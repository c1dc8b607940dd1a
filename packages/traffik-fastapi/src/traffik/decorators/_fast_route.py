"""``FastThrottledRoute``: the route runs its throttles itself, before FastAPI resolves any dependency.

``Depends(throttle)`` and ``throttled(...)`` are FastAPI dependencies: for each
request FastAPI solves them like any other (a recursive solve, parameter
extraction, a cache entry), which costs more than the in-memory hit itself.
This route class takes the throttles out of the dependency tree FastAPI
solves per request and hits them on the raw request first, then calls the
handler FastAPI built for the rest. The route's ``dependant`` keeps them, so
the OpenAPI schema and :func:`~traffik.decorators.route_throttles` see the
route exactly as in the dependency mode.

Headers go on the ``Response`` the handler returns and on an
``HTTPException`` raised past the throttles, not through a wrapped ASGI
``send`` as :class:`~traffik.decorators.ThrottledRoute` does: wrapping
``send`` costs about a third of an in-memory hit on every request, and
``install(app)`` already wraps it once for the whole app (which also covers
the 422 that FastAPI builds from a validation error).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from fastapi import routing
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from traffik.decorators._guard import ThrottleGuard
from traffik.throttles import BaseThrottle, HTTPThrottle, merged_headers

__all__ = ["FastThrottledRoute", "split_throttles"]

RouteHandler = Callable[[Request], Coroutine[Any, Any, Response]]


class _HasDependant(Protocol):
    dependant: Dependant


def _throttles_of(call: object) -> tuple[BaseThrottle[Any], ...] | None:
    """The HTTP throttles a top-level dependency runs, or ``None`` when FastAPI must keep solving it."""
    if isinstance(call, ThrottleGuard):
        return call.throttles if call.kind == "http" else None
    # Only a plain HTTPThrottle: a subclass that overrides ``__call__`` does more than hit.
    if isinstance(call, HTTPThrottle) and type(call).__call__ is HTTPThrottle.__call__:
        return (call,)
    return None


def _nested_calls(dependant: Dependant) -> set[int]:
    """``id()`` of every callable solved below ``dependant``'s top level."""
    found: set[int] = set()
    pending = [nested for sub in dependant.dependencies for nested in sub.dependencies]
    while pending:
        current = pending.pop()
        found.add(id(current.call))
        pending.extend(current.dependencies)
    return found


def split_throttles(dependant: Dependant) -> tuple[tuple[BaseThrottle[Any], ...], Dependant]:
    """Split ``dependant`` into its top-level HTTP throttles and a copy without them.

    Top-level means the route's own dependencies, its routers' and the app's,
    and the parameters ``@throttled`` adds to an endpoint. A throttle nested in
    another dependency stays there (that dependency may need it first), and so
    does a top-level one that is also nested: FastAPI's per-request cache
    then hits it once, as in the dependency mode.

    Returns:
        The throttles in the order FastAPI would run them (each once), and
        ``dependant`` itself when it has none, else a copy without them.
    """
    throttles: list[BaseThrottle[Any]] = []
    kept: list[Dependant] = []
    nested = _nested_calls(dependant)
    for sub in dependant.dependencies:
        found = None if id(sub.call) in nested else _throttles_of(sub.call)
        if found is None:
            kept.append(sub)
            continue
        for throttle in found:
            if throttle not in throttles:
                throttles.append(throttle)
    if not throttles:
        return (), dependant
    return tuple(throttles), dataclasses.replace(dependant, dependencies=kept)


def _route_being_built(route: APIRoute) -> _HasDependant:
    """What ``APIRoute.get_route_handler`` reads: the route, or FastAPI's view of it inside an included router.

    FastAPI with lazy router inclusion builds one handler per inclusion, from
    an effective route (prefix and the including routers' dependencies
    applied) that it announces in a context variable while it calls
    ``get_route_handler``. Older FastAPI copies the route instead, so the
    route itself is what it reads.
    """
    variable = getattr(routing, "_effective_route_context_var", None)
    context = None if variable is None else variable.get()
    if (
        context is not None
        and getattr(context, "original_route", None) is route
        and isinstance(getattr(context, "dependant", None), Dependant)
    ):
        return context  # type: ignore[no-any-return]  # FastAPI's effective route: it has a dependant
    return route


def _set_headers(response: Response, headers: dict[str, str]) -> None:
    """Set ``headers`` on ``response`` as ``response.headers[name] = value`` does, appending where no name clashes.

    ``MutableHeaders.__setitem__`` scans every raw header for each name it
    sets; a rate limit header is almost always new on the response.
    """
    raw = response.raw_headers
    present = {key for key, _ in raw}
    for name, value in headers.items():
        key = name.lower().encode("latin-1")
        if key in present:
            response.headers[name] = value  # replaces the response's own (and drops its duplicates)
        else:
            raw.append((key, value.encode("latin-1")))
            present.add(key)


def _throttle_first(
    handler: RouteHandler,
    throttles: tuple[BaseThrottle[Any], ...],
    solving_all: RouteHandler,
    calls: tuple[object, ...],
    overrides_provider: Any,
) -> RouteHandler:
    """``handler`` after the hits; ``solving_all`` (FastAPI solves them all) while one of ``calls`` is overridden.

    Everything runs in this one coroutine, without a helper call on the
    common path: in-process the wrapper's own work is what this route costs
    over an endpoint that hits the throttle itself.
    """
    single = throttles[0] if len(throttles) == 1 else None

    async def throttled_handler(request: Request) -> Response:
        if overrides_provider is not None:
            overrides = overrides_provider.dependency_overrides
            if overrides and any(call in overrides for call in calls):
                return await solving_all(request)
        if single is not None:
            await single.hit(request)  # a throttled request raises its 429, headers included
        else:
            for throttle in throttles:
                await throttle.hit(request)
        try:
            response = await handler(request)
        except HTTPException as exc:
            headers = merged_headers(request.scope)
            if headers:
                # The exception's own headers win over the rate limit ones.
                exc.headers = {**headers, **(exc.headers or {})}
            raise
        headers = merged_headers(request.scope)
        if headers:
            _set_headers(response, headers)
        return response

    return throttled_handler


class FastThrottledRoute(APIRoute):
    """An ``APIRoute`` that hits its throttles on the raw request, without FastAPI's dependency resolution.

    The fast path for throttled FastAPI routes: declare the throttles as
    usual (``dependencies=[throttled(...)]`` or ``Depends(throttle)`` on the
    route, its router or the app, or ``@throttled(...)`` under
    ``@router.get``) and set this class as the router's ``route_class``.
    The throttles then run before FastAPI reads the body or solves any other
    dependency. The rate limit headers are set on the route's responses,
    whatever the endpoint returns (a dict, a model, its own ``Response``), on
    an ``HTTPException`` raised by the endpoint or a dependency, and on the
    429; with :func:`~traffik.decorators.install` also on the 422 of a
    request that fails validation. The 429, the OpenAPI documentation,
    costs, rules and exemptions are those of the dependency mode.

    What stays with FastAPI: WebSocket routes (a router's ``route_class``
    applies to HTTP routes only), throttles nested inside another
    dependency (also where the same throttle is a top-level dependency too,
    so it is hit once), ``HTTPThrottle`` subclasses that override
    ``__call__``, and every throttle of a request while
    ``app.dependency_overrides`` replaces one of them (so overrides in tests
    work as in the dependency mode).
    Routes without throttles behave exactly like ``APIRoute``.

    Example:
        >>> from fastapi import APIRouter
        >>> from traffik.decorators import throttled
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> api = HTTPThrottle("doc:fast", rate="100/min", registry=ThrottleRegistry())
        >>> router = APIRouter(route_class=FastThrottledRoute, dependencies=[throttled(api)])
        >>> @router.get("/items")
        ... async def items() -> list[int]:
        ...     return [1, 2]
        >>> router.routes[0].throttles == (api,)
        True
    """

    throttles: tuple[BaseThrottle[Any], ...] = ()
    """The throttles this route hits itself, in order (those of its latest handler)."""

    def get_route_handler(self) -> RouteHandler:
        target = _route_being_built(self)
        dependant = target.dependant
        throttles, lean = split_throttles(dependant)
        if not throttles:
            return super().get_route_handler()
        solving_all = super().get_route_handler()
        target.dependant = lean
        try:
            handler = super().get_route_handler()
        finally:
            # The full dependant stays for the OpenAPI schema and route_throttles().
            target.dependant = dependant
        kept = {id(sub) for sub in lean.dependencies}
        calls = tuple(sub.call for sub in dependant.dependencies if id(sub) not in kept)
        provider = getattr(target, "dependency_overrides_provider", None)
        self.throttles = throttles
        return _throttle_first(handler, throttles, solving_all, calls, provider)
