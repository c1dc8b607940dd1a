"""The FastAPI app the HTTP scenarios serve: one endpoint, throttled and not.

``GET /plain`` and ``GET /throttled`` run the same handler; the second also
depends on an :class:`~traffik.HTTPThrottle` whose limit is never reached, so
the difference between them is the whole cost of throttling a request.
``GET /noop`` depends on a dependency that does nothing: the floor of
``Depends(throttle)`` as far as FastAPI's dependency machinery goes.

Uvicorn builds it with ``--factory benchmarks._app:app_from_env``, reading the
backend URL from ``TRAFFIK_BENCH_URL`` (``memory://`` when unset).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Collection

from fastapi import Depends, FastAPI, Request
from traffik.backends.base import ThrottleBackend
from traffik.decorators import FastThrottledRoute, throttled
from traffik.middleware import ThrottleMiddleware
from traffik.plugins import backend_from_url
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, MiddlewareThrottle

from benchmarks._strategies import NEVER_REACHED

__all__ = ["URL_VARIABLE", "app_from_env", "create_app"]

URL_VARIABLE = "TRAFFIK_BENCH_URL"


def create_app(
    backend: ThrottleBackend, paths: Collection[str] | None = None, *, served_at: str | None = None
) -> FastAPI:
    """The benchmark app on ``backend`` (initialised by the app's lifespan), with the routes at ``paths`` (all).

    ``/plain`` is the floor, ``/noop`` the same handler with a no-op
    dependency. The handler is throttled five ways: ``/throttled`` with
    ``Depends(throttle)``, ``/decorated`` with traffik-fastapi's
    ``@throttled``, ``/fast`` by :class:`~traffik.decorators.FastThrottledRoute`,
    ``/direct`` with ``await throttle.hit(request)`` in the endpoint,
    ``/middleware`` by ``ThrottleMiddleware``. Each uses its own throttle, so
    the modes never share counters.

    Routing costs more for each route tried before the one that matches, so
    the in-process scenario builds one app per route (``paths=["/fast"]``):
    every variant then pays the same routing. With ``served_at``, that one
    route answers at this path instead of its own, so every variant's URL is
    the same too (httpx parses a URL character by character: a longer path
    costs a request more).
    """
    wanted = set(paths) if paths is not None else None
    if served_at is not None and (wanted is None or len(wanted) != 1):
        raise ValueError(f"served_at needs exactly one route in paths, got {paths!r}")

    def add(path: str) -> bool:
        return wanted is None or path in wanted

    def at(path: str) -> str:
        return path if served_at is None else served_at

    registry = ThrottleRegistry()
    dependency = HTTPThrottle("bench:http", rate=NEVER_REACHED, backend=backend, registry=registry)
    direct = HTTPThrottle("bench:direct", rate=NEVER_REACHED, backend=backend, registry=registry)
    middleware = HTTPThrottle("bench:middleware", rate=NEVER_REACHED, backend=backend, registry=registry)
    decorated = HTTPThrottle("bench:decorated", rate=NEVER_REACHED, backend=backend, registry=registry)
    fast = HTTPThrottle("bench:fast", rate=NEVER_REACHED, backend=backend, registry=registry)
    app = FastAPI(lifespan=backend.lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    if add("/middleware"):
        app.add_middleware(
            ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(middleware, path=at("/middleware"))]
        )

    async def handler() -> dict[str, bool]:
        return {"ok": True}

    async def direct_handler(request: Request) -> dict[str, bool]:
        await direct.hit(request)
        return {"ok": True}

    async def noop() -> None:
        return None

    @throttled(decorated)
    async def decorated_handler() -> dict[str, bool]:
        return {"ok": True}

    if add("/plain"):
        app.add_api_route(at("/plain"), handler, methods=["GET"])
    if add("/throttled"):
        app.add_api_route(at("/throttled"), handler, methods=["GET"], dependencies=[Depends(dependency)])
    if add("/direct"):
        app.add_api_route(at("/direct"), direct_handler, methods=["GET"])
    if add("/middleware"):
        app.add_api_route(at("/middleware"), handler, methods=["GET"])
    if add("/noop"):
        app.add_api_route(at("/noop"), handler, methods=["GET"], dependencies=[Depends(noop)])
    if add("/decorated"):
        app.add_api_route(at("/decorated"), decorated_handler, methods=["GET"])
    if add("/fast"):
        # On the app's own router like the others: an included router has routing costs of its own.
        app.router.add_api_route(
            at("/fast"), handler, methods=["GET"], dependencies=[Depends(fast)], route_class_override=FastThrottledRoute
        )
    return app


def app_from_env() -> FastAPI:
    """The app on the backend at ``$TRAFFIK_BENCH_URL``, in a fresh namespace (uvicorn's ``--factory``)."""
    url = os.environ.get(URL_VARIABLE, "memory://")
    return create_app(backend_from_url(url, namespace=f"bench-http-{uuid.uuid4().hex[:8]}"))
