"""``@throttled(...)``: FastAPI's decorator, built on dependency injection."""

from __future__ import annotations

import functools
import inspect
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Final, TypeVar

from fastapi import params
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.websockets import WebSocket
from traffik.decorators._guard import ConnectionKind, ThrottleGuard, connection_kind_of
from traffik.exceptions import ConfigurationError
from traffik.throttles import BaseThrottle, HTTPThrottle

__all__ = ["ThrottledDependency", "throttled"]

EndpointT = TypeVar("EndpointT", bound=Callable[..., Any])

# Each decoration adds its own keyword-only parameter, so stacked decorators never clash.
_DECORATIONS: Final = itertools.count()


class ThrottledDependency(params.Depends):
    """What ``throttled(...)`` returns: a FastAPI ``Depends`` that is also an endpoint decorator.

    Put it in ``dependencies=[...]`` of a route, a router or the app, or
    decorate an endpoint with it (under ``@app.get``).

    Attributes:
        guard: The :class:`ThrottleGuard` FastAPI calls for each connection.
    """

    guard: ThrottleGuard

    def __init__(self, guard: ThrottleGuard) -> None:
        super().__init__(dependency=guard)
        # Depends is a frozen dataclass; ``guard`` is an extra, non-field attribute.
        object.__setattr__(self, "guard", guard)

    @property
    def throttles(self) -> tuple[BaseThrottle[Any], ...]:
        """The throttles this dependency hits, in order."""
        return self.guard.throttles

    def __call__(self, endpoint: EndpointT) -> EndpointT:
        """Decorate ``endpoint`` (see :func:`throttled`)."""
        return _decorate(self, endpoint)

    def __repr__(self) -> str:
        return f"throttled({', '.join(repr(t) for t in self.guard.throttles)})"


def throttled(*throttles: BaseThrottle[Any], openapi: bool = True) -> ThrottledDependency:
    """Throttle a FastAPI route: as a decorator under ``@app.get`` or in ``dependencies=[...]``.

    Every throttle applies, in order (e.g. a burst and a sustained limit).
    The endpoint keeps its signature and OpenAPI parameters; the throttles
    run as a FastAPI dependency before it, so a throttled request never
    reaches it. The rate limit headers of the hits are set on the response,
    whatever the endpoint returns (a dict, a model or its own ``Response``).

    Args:
        *throttles: :class:`~traffik.throttles.HTTPThrottle` objects for an
            HTTP route, or :class:`~traffik.throttles.WebSocketThrottle`
            objects for a WebSocket route (run before ``accept``: a throttled
            handshake is denied with 429).
        openapi: Document these throttles (429 response, headers, policy) in
            the OpenAPI schema; ``False`` leaves the route's schema untouched.

    Returns:
        A FastAPI ``Depends`` that also decorates endpoints.

    Raises:
        ConfigurationError: No throttle, an argument that is not a throttle,
            HTTP and WebSocket throttles mixed, or (when decorating) throttles
            of the other connection type than the endpoint's.

    Example:
        >>> from fastapi import FastAPI
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> backend, registry = InMemoryBackend(), ThrottleRegistry()
        >>> burst = HTTPThrottle("doc:burst", rate="10/s", backend=backend, registry=registry)
        >>> sustained = HTTPThrottle("doc:sustained", rate="100/min", backend=backend, registry=registry)
        >>> app = FastAPI()
        >>> @app.get("/items/{item_id}")
        ... @throttled(burst, sustained)
        ... async def read_item(item_id: int) -> dict[str, int]:
        ...     return {"item_id": item_id}
        >>> read_item.__name__
        'read_item'
    """
    if not isinstance(openapi, bool):
        raise ConfigurationError(f"throttled(): openapi must be True or False, got {openapi!r}")
    kind = connection_kind_of(throttles)
    return ThrottledDependency(ThrottleGuard(tuple(throttles), kind, openapi))


def _signature(endpoint: Callable[..., Any]) -> inspect.Signature:
    try:
        # Evaluated so that WebSocket annotations written as strings are recognised.
        return inspect.signature(endpoint, eval_str=True)
    except (NameError, TypeError):
        return inspect.signature(endpoint)


def _endpoint_kind(signature: inspect.Signature) -> ConnectionKind:
    for parameter in signature.parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, type) and issubclass(annotation, WebSocket):
            return "websocket"
    return "http"


def _with_parameter(signature: inspect.Signature, name: str, dependency: ThrottledDependency) -> inspect.Signature:
    """``signature`` plus a keyword-only ``name`` whose default is the throttle dependency.

    FastAPI solves dependencies in parameter order; the new one goes before
    those of inner ``@throttled`` decorators, so stacked decorators run top
    to bottom, as they read.

    The parameter is annotated ``object``, not ``HTTPConnection`` (what the
    dependency returns): FastAPI before 0.128.2 refuses a ``Depends`` on a
    parameter annotated with a Starlette connection type. ``object`` is no
    such type, and says the endpoint never sees the value.
    """
    extra = inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=dependency, annotation=object)
    parameters = list(signature.parameters.values())
    position = len(parameters)
    if parameters and parameters[-1].kind is inspect.Parameter.VAR_KEYWORD:
        position -= 1
    for index, parameter in enumerate(parameters):
        if isinstance(parameter.default, ThrottledDependency):
            position = index
            break
    parameters.insert(position, extra)
    return signature.replace(parameters=parameters)


def _add_headers(result: Any, connection: object) -> Any:
    """Copy the hits' headers onto a ``Response`` the endpoint built itself (FastAPI would drop them)."""
    if isinstance(result, Response) and isinstance(connection, HTTPConnection):
        headers = HTTPThrottle.response_headers(connection)
        if headers:
            response_headers = result.headers
            for name, value in headers.items():
                response_headers[name] = value
    return result


def _decorate(dependency: ThrottledDependency, endpoint: EndpointT) -> EndpointT:
    if not callable(endpoint) or isinstance(endpoint, type):
        raise ConfigurationError(f"throttled(...) decorates an endpoint function, got {endpoint!r}")
    guard = dependency.guard
    signature = _signature(endpoint)
    endpoint_kind = _endpoint_kind(signature)
    if endpoint_kind != guard.kind:
        wanted = "WebSocketThrottle" if endpoint_kind == "websocket" else "HTTPThrottle"
        described = "a WebSocket" if endpoint_kind == "websocket" else "an HTTP"
        raise ConfigurationError(
            f"throttled(): {getattr(endpoint, '__qualname__', endpoint)!r} is {described} endpoint; its throttles "
            f"must be {wanted} objects, got {list(guard.throttles)!r}"
        )
    name = f"traffik_throttled_{next(_DECORATIONS)}"
    wrapper: Callable[..., Any]
    # The wrapper has the endpoint's kind (coroutine, generator or plain) so
    # FastAPI runs it the same way: sync endpoints stay in the threadpool.
    if inspect.isasyncgenfunction(endpoint):

        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            kwargs.pop(name, None)
            async for item in endpoint(*args, **kwargs):
                yield item

        wrapper = async_gen_wrapper
    elif inspect.isgeneratorfunction(endpoint):

        def gen_wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            kwargs.pop(name, None)
            yield from endpoint(*args, **kwargs)

        wrapper = gen_wrapper
    elif inspect.iscoroutinefunction(endpoint) or inspect.iscoroutinefunction(getattr(endpoint, "__call__", None)):  # noqa: B004  # instances with an async __call__

        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = kwargs.pop(name, None)
            return _add_headers(await endpoint(*args, **kwargs), connection)

        wrapper = async_wrapper
    else:

        def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = kwargs.pop(name, None)
            return _add_headers(endpoint(*args, **kwargs), connection)

        wrapper = sync_wrapper
    functools.update_wrapper(wrapper, endpoint)
    wrapper.__signature__ = _with_parameter(signature, name, dependency)  # type: ignore[union-attr]  # functions take attributes; inspect reads it
    return wrapper  # type: ignore[return-value]  # same call signature as the endpoint, for FastAPI and callers
