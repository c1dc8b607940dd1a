"""Rate limit headers on every response of a throttled route, in every mode, whatever the endpoint returns."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import RateLimitHeadersMiddleware, ThrottledRoute, install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS, DRAFT_RATELIMIT_HEADERS, Header
from traffik.middleware import ThrottleMiddleware
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle

from .conftest import ClientFactory


class Model(BaseModel):
    value: int


async def _chunks() -> AsyncIterator[bytes]:
    yield b"one,"
    yield b"two"


# What an endpoint may return: each kind must carry the headers.
RETURNS: dict[str, Callable[[list[str]], Any]] = {
    "dict": lambda log: {"kind": "dict"},
    "model": lambda log: Model(value=1),
    "json-response": lambda log: JSONResponse({"kind": "response"}),
    "plain-response": lambda log: PlainTextResponse("plain"),
    "streaming": lambda log: StreamingResponse(_chunks()),
    "background": lambda log: Response("bg", background=BackgroundTask(log.append, "ran")),
}

MODES = ("decorator", "dependency", "router", "app-dependency", "middleware", "route-class")


def _app(mode: str, throttle: HTTPThrottle, kind: str, log: list[str]) -> FastAPI:
    """An app whose ``/r`` route is throttled by ``throttle`` in ``mode`` and returns a ``kind`` value."""
    make = RETURNS[kind]
    guard = throttled(throttle)
    app = FastAPI(dependencies=[guard] if mode == "app-dependency" else None)
    router_dependencies = [guard] if mode in ("router", "route-class") else None
    if mode == "route-class":
        router = APIRouter(dependencies=router_dependencies, route_class=ThrottledRoute)
    else:
        router = APIRouter(dependencies=router_dependencies)
    if mode == "decorator":

        @router.get("/r")
        @throttled(throttle)
        async def decorated() -> Any:
            return make(log)

    elif mode == "middleware":
        app.add_middleware(ThrottleMiddleware, middleware_throttles=[throttle])

        @router.get("/r")
        async def plain() -> Any:
            return make(log)

    else:

        @router.get("/r", dependencies=[guard] if mode == "dependency" else None)
        async def guarded() -> Any:
            return make(log)

    app.include_router(router)
    if mode in ("dependency", "router", "app-dependency"):
        install(app)
    return app


@pytest.mark.parametrize("kind", list(RETURNS))
@pytest.mark.parametrize("mode", MODES)
async def test_headers_on_every_kind_of_response(
    mode: str, kind: str, backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = HTTPThrottle("t", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    log: list[str] = []
    app = _app(mode, throttle, kind, log)
    async with http_client(app) as client:
        first = await client.get("/r")
        second = await client.get("/r")
        third = await client.get("/r")
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert third.headers["retry-after"] == "60"
    if kind == "streaming":
        assert first.text == "one,two"
    if kind == "background":
        assert log == ["ran", "ran"]


async def test_without_install_fastapi_drops_dependency_headers_on_own_responses(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    """The gap install() closes: proves the header test above can fail."""
    throttle = HTTPThrottle("t", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/r", dependencies=[throttled(throttle)])
    async def own() -> PlainTextResponse:
        return PlainTextResponse("plain")

    async with http_client(app) as client:
        response = await client.get("/r")
    assert "x-ratelimit-limit" not in response.headers


async def test_headers_middleware_on_its_own(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = HTTPThrottle("t", rate="5/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    app = FastAPI()
    app.add_middleware(RateLimitHeadersMiddleware)

    @app.get("/r", dependencies=[Depends(throttle)])
    async def own() -> PlainTextResponse:
        return PlainTextResponse("plain")

    @app.get("/free")
    async def free() -> PlainTextResponse:
        return PlainTextResponse("free")

    async with http_client(app) as client:
        guarded = await client.get("/r")
        unguarded = await client.get("/free")
    assert guarded.headers["x-ratelimit-remaining"] == "4"
    assert "x-ratelimit-remaining" not in unguarded.headers


async def test_most_restrictive_throttle_wins_and_policies_are_all_listed(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    def headers_for(policy: str) -> Any:
        return DEFAULT_HEADERS_ALWAYS | {"RateLimit-Policy-" + policy: Header.RATELIMIT_POLICY(when="always")}

    burst = HTTPThrottle("burst", rate="3/s", headers=headers_for("burst"), backend=backend, registry=registry)
    daily = HTTPThrottle("daily", rate="100/day", headers=headers_for("daily"), backend=backend, registry=registry)
    app = install(FastAPI())

    @app.get("/r")
    @throttled(daily, burst)
    async def route() -> PlainTextResponse:
        return PlainTextResponse("ok")

    async with http_client(app) as client:
        response = await client.get("/r")
    # burst has 2 left, daily 99: the X-RateLimit-* set is burst's, coherent as a whole.
    assert response.headers["x-ratelimit-limit"] == "3"
    assert response.headers["x-ratelimit-remaining"] == "2"
    assert response.headers["ratelimit-policy-burst"] == '"default";q=3;w=1'
    assert response.headers["ratelimit-policy-daily"] == '"default";q=100;w=86400'


async def test_draft_ietf_headers(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = HTTPThrottle("t", rate="10/min", headers=DRAFT_RATELIMIT_HEADERS, backend=backend, registry=registry)
    app = install(FastAPI())

    @app.get("/r", dependencies=[throttled(throttle)])
    async def route() -> StreamingResponse:
        return StreamingResponse(_chunks())

    async with http_client(app) as client:
        response = await client.get("/r")
    assert response.headers["ratelimit"] == '"default";r=9;t=60'
    assert response.headers["ratelimit-policy"] == '"default";q=10;w=60'
