"""HTTP throttles: FastAPI dependency, direct ``hit()``, and the base of middleware throttles."""

# No ``from __future__ import annotations``: FastAPI before 0.123.7 reads the
# annotations of a dependency's ``__call__`` without resolving strings, and would
# take the connection parameter for a query parameter (a 422 on every request).

from collections.abc import Mapping
from typing import Any, Final

from starlette.requests import HTTPConnection
from starlette.responses import Response

from traffik.exceptions import (
    BACKEND_ERROR_KEY,
    SERVICE_UNAVAILABLE,
    ConnectionThrottled,
    retry_after_seconds,
    retry_detail,
)
from traffik.throttles._base import BaseThrottle
from traffik.throttles._header_loss import warn_if_headers_lost
from traffik.throttles._scope import HEADERS_KEY, merged_headers

__all__ = ["HTTPThrottle", "RequestThrottle"]

# FastAPI recognises a parameter annotated ``Response`` and injects its
# per-request response; a direct ``await throttle(request)`` gets this
# placeholder instead, which is never written to.
_NO_RESPONSE: Final = Response()


class HTTPThrottle(BaseThrottle[HTTPConnection]):
    """Rate limiter for HTTP requests (also available as ``RequestThrottle``).

    Use it as a FastAPI dependency (``Depends(throttle)`` on a route, router or
    app), with the Starlette decorator :func:`~traffik.throttles.throttled`,
    in :class:`~traffik.middleware.ThrottleMiddleware`, or directly with
    ``await throttle.hit(request)``.

    Counters are per throttle, per client and, by default, per route (method
    and path). With ``per_route=False`` (or the older ``use_method=False``) the
    key is the throttle and the client only, so one throttle object attached
    to several routes shares a single quota across them.

    Args:
        uid: Unique id: registry key and key prefix.
        rate: ``"100/min"``, a :class:`~traffik.Rate`, or an async callable
            ``(request, context) -> Rate``.
        cost: Quota per hit: an int (``0`` skips the throttle) or an async
            callable ``(request, context) -> int``.
        backend: Storage; ``None`` uses the active context's backend (the one
            installed by ``lifespan=backend.lifespan`` or ``async with backend:``).
        identifier: ``(request) -> str``, sync or async; return ``EXEMPTED``
            to skip throttling. Defaults to the backend's identifier, else
            :func:`~traffik.get_remote_address`.
        strategy: Algorithm; defaults to the backend's default (fixed window).
        handle_throttled: ``(request, wait_ms, throttle, context)`` called when
            throttled; it raises to block. Default: raise
            :class:`~traffik.exceptions.ConnectionThrottled` (429, ``Retry-After``).
        headers: :class:`~traffik.headers.Headers` (or a dict) resolved from
            each hit and attached to the response.
        on_error: ``"allow"``, ``"throttle"``, ``"raise"`` or a callable
            ``(request, exc_info)``; ``None`` uses the backend's (``"throttle"``).
        registry: Registry to join (default ``GLOBAL_REGISTRY``).
        rules: Gating rules; all must pass for the throttle to fire.
        context: Static context passed to rate/cost callables, rules and handlers.
        dynamic_backend: Prefer the active context's backend on every hit.
        min_wait_period: Floor (ms) on the wait of throttled responses.
        cache_ids: Compute each identifier once per connection.
        dynamic_rules: Re-read registry rules on every hit (else at the first).
        use_method: Count per method and path (``False``: one counter per client).
        shadow: Shadow mode (keyword-only): decide, count and report as when
            enforcing, but let a request over the limit pass (outcome
            ``"shadow-throttled"``); ``None`` follows the app-wide
            :func:`traffik.config.set_shadow` / ``TRAFFIK_SHADOW``. Switch at
            run time with :meth:`update_shadow`.
        shadow_headers: In shadow mode, still attach the rate limit headers
            (saying what enforcing would have answered); default ``False``:
            a shadow throttle adds no headers.
        near_limit_ratio: Share of the limit used from which decisions are
            reported as near the limit (``0 < ratio <= 1``); ``None``: the
            app-wide :func:`traffik.config.get_near_limit_ratio` (``0.8``).
        per_route: Keyword-only. ``False``: one quota per client across every
            route this throttle guards (the key drops the method and the path,
            as ``use_method=False`` does); ``True``: a quota per route;
            ``None`` (default): ``use_method`` decides. ``per_route=True``
            with ``use_method=False`` is a contradiction and raises.

    Raises:
        ConfigurationError: Any invalid argument, naming the uid, parameter and value.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.registry import ThrottleRegistry
        >>> throttle = HTTPThrottle("doc:example", rate="2/s", backend=InMemoryBackend(),
        ...                         registry=ThrottleRegistry())
        >>> throttle.rate
        Rate(limit=2, milliseconds=1000)
    """

    async def __call__(self, connection: HTTPConnection, response: Response = _NO_RESPONSE) -> HTTPConnection:
        """FastAPI dependency: hit, and put this request's rate limit headers on ``response``.

        Without ``traffik.decorators.install(app)`` (or another headers
        injector) the first such request of an app logs one warning: FastAPI
        keeps these headers only on responses it builds itself.
        """
        pending = self._hit_now(connection)  # the common hit: nothing to await in memory
        if pending is not None:
            await pending
        if response is _NO_RESPONSE:
            return connection
        warn_if_headers_lost(connection.scope)
        if connection.scope.get(HEADERS_KEY):
            headers = response.headers
            for name, value in merged_headers(connection.scope).items():
                headers[name] = value
        return connection

    async def default_handle_throttled(
        self, connection: HTTPConnection, wait_ms: float, context: Mapping[str, Any]
    ) -> None:
        """Raise :class:`ConnectionThrottled` (429) with ``Retry-After`` and this request's headers.

        Before a WebSocket is accepted this denies the handshake with 429. When the
        backend failed (``on_error="throttle"``), the detail says so:
        ``"Rate limit service unavailable. Retry in 1 second."``.
        """
        detail = None
        if BACKEND_ERROR_KEY in context:
            detail = retry_detail(retry_after_seconds(wait_ms), SERVICE_UNAVAILABLE)
        raise ConnectionThrottled(wait_ms, detail, headers=merged_headers(connection.scope))


RequestThrottle = HTTPThrottle
"""Alias of :class:`HTTPThrottle`."""
