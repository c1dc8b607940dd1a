"""FastAPI integration for Traffik (distribution ``traffik-fastapi``).

* :func:`throttled`: ``@throttled(burst, sustained)`` under ``@app.get`` (HTTP
  and WebSocket routes, sync and async endpoints), or
  ``dependencies=[throttled(...)]`` on a route, a router or the app.
* :func:`install`: rate limit headers on every response of a throttled route
  (whatever the endpoint returns), the 429 documented in the OpenAPI schema,
  and opt-in RFC 9457 problem details.
* :class:`ThrottledRoute` / :class:`RateLimitHeadersMiddleware`: the header
  fix on its own, per router or per app.
* :class:`FastThrottledRoute`: the fast path, a route class that hits the
  route's throttles itself, before FastAPI resolves dependencies.

Importing this package is cheap: it does not import FastAPI. Each name is
imported the first time it is used.

Example:
    >>> import traffik.decorators
    >>> int(traffik.decorators.__version__.split(".")[0]) >= 2
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from traffik.decorators.__about__ import __version__
from traffik.lazy import lazy_attributes

if TYPE_CHECKING:
    from traffik.decorators._decorator import ThrottledDependency, throttled
    from traffik.decorators._fast_route import FastThrottledRoute
    from traffik.decorators._guard import ThrottleGuard
    from traffik.decorators._headers import RateLimitHeadersMiddleware, ThrottledRoute
    from traffik.decorators._install import install
    from traffik.decorators._openapi import (
        describe_policy,
        document_throttles,
        route_throttles,
        too_many_requests_response,
    )
    from traffik.decorators._problem import problem_details_handler

__all__ = [
    "FastThrottledRoute",
    "RateLimitHeadersMiddleware",
    "ThrottleGuard",
    "ThrottledDependency",
    "ThrottledRoute",
    "__version__",
    "describe_policy",
    "document_throttles",
    "install",
    "problem_details_handler",
    "route_throttles",
    "throttled",
    "too_many_requests_response",
]

_LAZY_ATTRIBUTES: Final[dict[str, str]] = {
    "throttled": "traffik.decorators._decorator",
    "ThrottleGuard": "traffik.decorators._guard",
    "ThrottledDependency": "traffik.decorators._decorator",
    "FastThrottledRoute": "traffik.decorators._fast_route",
    "RateLimitHeadersMiddleware": "traffik.decorators._headers",
    "ThrottledRoute": "traffik.decorators._headers",
    "install": "traffik.decorators._install",
    "describe_policy": "traffik.decorators._openapi",
    "document_throttles": "traffik.decorators._openapi",
    "route_throttles": "traffik.decorators._openapi",
    "too_many_requests_response": "traffik.decorators._openapi",
    "problem_details_handler": "traffik.decorators._problem",
}
"""Public name -> module that defines it, imported on first access (keeps FastAPI unimported)."""


__getattr__ = lazy_attributes(__name__, globals(), _LAZY_ATTRIBUTES)


def __dir__() -> list[str]:
    return sorted(__all__)
