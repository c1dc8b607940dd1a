"""No silent header loss: a FastAPI app that needs ``install(app)`` and lacks it says so, once.

A FastAPI dependency cannot reach a ``JSONResponse`` the endpoint builds, an
``HTTPException`` or a 422: only something that wraps ``send`` can. Without
one, the first throttled request of the app logs one warning naming
``traffik.decorators.install``; with one (``install(app)``, the headers
middleware, ``ThrottledRoute``, ``ThrottleMiddleware``) nothing is logged.
"""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.responses import JSONResponse
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import RateLimitHeadersMiddleware, ThrottledRoute, install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import ThrottleMiddleware
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle
from traffik.throttles._header_loss import warn_if_headers_lost

from .conftest import ClientFactory

INSTALL = "from traffik.decorators import install; install(app)"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "traffik" and "install(app)" in r.getMessage()]


def _throttle(backend: InMemoryBackend, registry: ThrottleRegistry) -> HTTPThrottle:
    return HTTPThrottle("warn", rate="100/min", backend=backend, registry=registry, headers=DEFAULT_HEADERS_ALWAYS)


def _app(mode: str, throttle: HTTPThrottle) -> FastAPI:
    """``/json`` returns a JSONResponse, ``/boom`` raises an HTTPException, ``/int/{n}`` can 422."""
    router = APIRouter(route_class=ThrottledRoute) if mode == "route-class" else APIRouter()
    dependency: Any = throttled(throttle) if mode != "depends" else Depends(throttle)

    @router.get("/json", dependencies=[dependency])
    async def json() -> JSONResponse:
        return JSONResponse({"ok": True})

    @router.get("/boom", dependencies=[dependency])
    async def boom() -> None:
        raise HTTPException(status_code=404, detail="nope")

    @router.get("/int/{n}", dependencies=[dependency])
    async def number(n: int) -> dict[str, int]:
        return {"n": n}

    app = FastAPI()
    app.include_router(router)
    if mode == "installed":
        install(app)
    elif mode == "installed-no-headers":
        install(app, headers=False)
    elif mode == "headers-middleware":
        app.add_middleware(RateLimitHeadersMiddleware)
    elif mode == "throttle-middleware":
        app.add_middleware(ThrottleMiddleware, middleware_throttles=[])
    return app


@pytest.mark.parametrize("mode", ["throttled", "depends"])
async def test_missing_install_warns_once_per_app(
    mode: str,
    backend: InMemoryBackend,
    registry: ThrottleRegistry,
    http_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    throttle = _throttle(backend, registry)
    first, second = _app(mode, throttle), _app(mode, throttle)
    with caplog.at_level(logging.WARNING, logger="traffik"):
        async with http_client(first) as client:
            for path in ("/json", "/boom", "/int/x", "/json"):
                await client.get(path)
        assert len(_warnings(caplog)) == 1
        async with http_client(second) as client:
            await client.get("/json")
    warned = _warnings(caplog)
    assert len(warned) == 2  # one per app
    message = warned[0].getMessage()
    assert INSTALL in message
    assert warned[0].levelno == logging.WARNING
    for loss in ("JSONResponse", "HTTPException", "422", "429"):
        assert loss in message


@pytest.mark.parametrize(
    "mode", ["installed", "installed-no-headers", "headers-middleware", "route-class", "throttle-middleware"]
)
async def test_installed_app_does_not_warn(
    mode: str,
    backend: InMemoryBackend,
    registry: ThrottleRegistry,
    http_client: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _app(mode, _throttle(backend, registry))
    with caplog.at_level(logging.DEBUG, logger="traffik"):
        async with http_client(app) as client:
            responses = [await client.get(path) for path in ("/json", "/boom", "/int/x")]
    assert _warnings(caplog) == []
    if mode != "installed-no-headers":
        # What the warning is about: the headers reach every response once installed.
        for response in responses:
            assert "x-ratelimit-limit" in response.headers, response.status_code


async def test_without_install_the_headers_are_lost(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    """What the warning warns about (if FastAPI ever keeps them, the warning can go)."""
    app = _app("throttled", _throttle(backend, registry))
    async with http_client(app) as client:
        for path in ("/json", "/boom", "/int/x"):
            assert "x-ratelimit-limit" not in (await client.get(path)).headers


def test_the_warning_keeps_no_reference_to_the_app(caplog: pytest.LogCaptureFixture) -> None:
    # Log capture (pytest's, a MemoryHandler) keeps records for a while: a record holding the
    # app kept its throttles and backend connections alive too, left to a later collection
    # (the unclosed sockets of a TestClient used without `with` surfaced in unrelated tests).
    app = FastAPI()
    with caplog.at_level(logging.WARNING, logger="traffik"):
        warn_if_headers_lost({"type": "http", "app": app})
    collected = weakref.ref(app)
    shown = repr(app)
    del app
    gc.collect()
    assert collected() is None
    (record,) = _warnings(caplog)
    assert shown in record.getMessage()
