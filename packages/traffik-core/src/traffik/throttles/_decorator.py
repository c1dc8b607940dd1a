"""The Starlette decorator: ``@throttled(*throttles)`` on an endpoint."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import HTTPConnection
from starlette.responses import Response

from traffik.exceptions import ConfigurationError
from traffik.throttles._base import BaseThrottle
from traffik.throttles._scope import merged_headers

__all__ = ["throttled"]

EndpointT = TypeVar("EndpointT", bound=Callable[..., Awaitable[Any]])


def _find_connection(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
    for value in args:
        if isinstance(value, HTTPConnection):
            return value
    for value in kwargs.values():
        if isinstance(value, HTTPConnection):
            return value
    raise TypeError("@throttled endpoints must receive a Request or WebSocket argument")


def _evaluated_signature(endpoint: Callable[..., Any]) -> inspect.Signature:
    # FastAPI before 0.123.7 resolves string annotations (``from __future__ import
    # annotations``) in the wrapper's module instead of the endpoint's, and takes an
    # unresolved ``request: Request`` for a query parameter: hand it the endpoint's
    # signature with the annotations evaluated where they were written.
    try:
        return inspect.signature(endpoint, eval_str=True)
    except (NameError, TypeError):  # names only imported under TYPE_CHECKING
        return inspect.signature(endpoint)


def throttled(*throttles: BaseThrottle[Any]) -> Callable[[EndpointT], EndpointT]:
    """Throttle a Starlette endpoint (function, method of an ``HTTPEndpoint``, or WebSocket endpoint).

    Every throttle applies, in order (e.g. a burst limit and a sustained
    limit). The rate limit headers of the hits are added to the response the
    endpoint returns; a throttled request raises
    :class:`~traffik.exceptions.ConnectionThrottled`, which Starlette answers
    with a ``text/plain`` 429 (and, for a WebSocket endpoint, a denied handshake).

    Raises:
        ConfigurationError: No throttle given, or an argument that is not a throttle.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> from traffik.throttles import HTTPThrottle
        >>> limit = HTTPThrottle("doc:deco", rate="5/s", backend=InMemoryBackend(), registry=ThrottleRegistry())
        >>> @throttled(limit)
        ... async def homepage(request):
        ...     ...
        >>> homepage.__name__
        'homepage'
    """
    if not throttles:
        raise ConfigurationError("throttled() needs at least one throttle")
    for throttle in throttles:
        if not isinstance(throttle, BaseThrottle):
            raise ConfigurationError(f"throttled() accepts HTTPThrottle/WebSocketThrottle objects, got {throttle!r}")

    def decorate(endpoint: EndpointT) -> EndpointT:
        @functools.wraps(endpoint)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            connection = _find_connection(args, kwargs)
            for throttle in throttles:
                await throttle.hit(connection)
            result = await endpoint(*args, **kwargs)
            if isinstance(result, Response):
                headers = merged_headers(connection.scope)
                if headers:
                    response_headers = result.headers
                    for name, value in headers.items():
                        response_headers[name] = value
            return result

        wrapper.__signature__ = _evaluated_signature(endpoint)  # type: ignore[attr-defined]  # inspect reads it
        return wrapper  # type: ignore[return-value]  # same call signature as the endpoint

    return decorate
