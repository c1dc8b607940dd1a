"""The FastAPI app the HTTP scenarios serve: one endpoint, throttled and not.

``GET /plain`` and ``GET /throttled`` run the same handler; the second also
depends on an :class:`~traffik.HTTPThrottle` whose limit is never reached, so
the difference between them is the whole cost of throttling a request.

Uvicorn builds it with ``--factory benchmarks._app:app_from_env``, reading the
backend URL from ``TRAFFIK_BENCH_URL`` (``memory://`` when unset).
"""

from __future__ import annotations

import os
import uuid

from fastapi import Depends, FastAPI, Request
from traffik.backends.base import ThrottleBackend
from traffik.middleware import ThrottleMiddleware
from traffik.plugins import backend_from_url
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, MiddlewareThrottle

from benchmarks._strategies import NEVER_REACHED

__all__ = ["URL_VARIABLE", "app_from_env", "create_app"]

URL_VARIABLE = "TRAFFIK_BENCH_URL"


def create_app(backend: ThrottleBackend) -> FastAPI:
    """The benchmark app on ``backend`` (initialised by the app's lifespan).

    ``/plain`` is the floor. The same handler is throttled three ways:
    ``/throttled`` with ``Depends(throttle)``, ``/direct`` with ``await
    throttle.hit(request)`` in the endpoint, ``/middleware`` by
    ``ThrottleMiddleware``. Each uses its own throttle, so the modes never share counters.
    """
    registry = ThrottleRegistry()
    dependency = HTTPThrottle("bench:http", rate=NEVER_REACHED, backend=backend, registry=registry)
    direct = HTTPThrottle("bench:direct", rate=NEVER_REACHED, backend=backend, registry=registry)
    middleware = HTTPThrottle("bench:middleware", rate=NEVER_REACHED, backend=backend, registry=registry)
    app = FastAPI(lifespan=backend.lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(middleware, path="/middleware")])

    async def handler() -> dict[str, bool]:
        return {"ok": True}

    async def direct_handler(request: Request) -> dict[str, bool]:
        await direct.hit(request)
        return {"ok": True}

    app.add_api_route("/plain", handler, methods=["GET"])
    app.add_api_route("/throttled", handler, methods=["GET"], dependencies=[Depends(dependency)])
    app.add_api_route("/direct", direct_handler, methods=["GET"])
    app.add_api_route("/middleware", handler, methods=["GET"])
    return app


def app_from_env() -> FastAPI:
    """The app on the backend at ``$TRAFFIK_BENCH_URL``, in a fresh namespace (uvicorn's ``--factory``)."""
    url = os.environ.get(URL_VARIABLE, "memory://")
    return create_app(backend_from_url(url, namespace=f"bench-http-{uuid.uuid4().hex[:8]}"))
