"""ThrottleMiddleware with MiddlewareThrottle: filters, predicate, cost, backend, rendering."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import MiddlewareThrottle as ReExported
from traffik.middleware import ThrottleMiddleware
from traffik.throttles import MiddlewareThrottle


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def starlette_app(*throttles: Any, backend: Any = None) -> Starlette:
    return Starlette(
        routes=[Route("/api/{rest:path}", ok, methods=["GET", "POST"]), Route("/health", ok)],
        middleware=[Middleware(ThrottleMiddleware, middleware_throttles=list(throttles), backend=backend)],
    )


def test_middleware_throttle_is_importable_from_both_modules() -> None:
    assert ReExported is MiddlewareThrottle


async def test_starlette_429_is_plain_text(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    async with http_client(starlette_app(MiddlewareThrottle(throttle))) as client:
        assert (await client.get("/health")).status_code == 200
        response = await client.get("/health")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Too many requests. Retry in ")
    assert "retry-after" in response.headers


async def test_fastapi_429_is_json(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    app = FastAPI()
    app.add_middleware(ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(throttle)])

    @app.get("/")
    async def root() -> dict[str, str]:
        return {}

    async with http_client(app) as client:
        await client.get("/")
        response = await client.get("/")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many requests. Retry in ")


async def test_path_and_method_filters(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry, use_method=False)
    mw = MiddlewareThrottle(throttle, path="/api/**", methods=["post"])
    async with http_client(starlette_app(mw)) as client:
        assert [(await client.get("/api/x")).status_code for _ in range(3)] == [200] * 3
        assert [(await client.get("/health")).status_code for _ in range(3)] == [200] * 3
        assert (await client.post("/api/x")).status_code == 200
        assert (await client.post("/api/y/z")).status_code == 429


async def test_predicate_sync_and_async(backend: Any, registry: Any, http_client: Any) -> None:
    async def only_api_keys(request: Request) -> bool:
        return "x-api-key" in request.headers

    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry, use_method=False)
    other = HTTPThrottle("u", rate="1/min", backend=backend, registry=registry, use_method=False)
    app = starlette_app(
        MiddlewareThrottle(throttle, predicate=only_api_keys),
        MiddlewareThrottle(other, predicate=lambda request: request.url.path == "/never"),
    )
    async with http_client(app) as client:
        assert [(await client.get("/health")).status_code for _ in range(3)] == [200] * 3
        assert (await client.get("/health", headers={"x-api-key": "k"})).status_code == 200
        assert (await client.get("/health", headers={"x-api-key": "k"})).status_code == 429


async def test_cost_override(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="4/min", cost=1, backend=backend, registry=registry, use_method=False)

    async def cost(request: Request, context: Any) -> int:
        return 2

    async with http_client(starlette_app(MiddlewareThrottle(throttle, cost=cost))) as client:
        assert [(await client.get("/health")).status_code for _ in range(3)] == [200, 200, 429]
    static = HTTPThrottle("s", rate="4/min", backend=backend, registry=registry)
    async with http_client(starlette_app(MiddlewareThrottle(static, cost=4))) as client:
        assert [(await client.get("/health")).status_code for _ in range(2)] == [200, 429]


async def test_plain_throttles_are_accepted_and_all_apply(
    backend: Any, registry: Any, http_client: Any, clock: Any
) -> None:
    burst = HTTPThrottle("burst", rate="1/s", backend=backend, registry=registry)
    sustained = HTTPThrottle("sustained", rate="2/min", backend=backend, registry=registry)
    clock.set(60_000_000.0)
    async with http_client(starlette_app(burst, sustained)) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health")).status_code == 429
        clock.advance(1_000)
        assert (await client.get("/health")).status_code == 200
        clock.advance(1_000)
        assert (await client.get("/health")).status_code == 429


async def test_backend_parameter_is_used_for_throttles_without_one(clock: Any, registry: Any, http_client: Any) -> None:
    backend = InMemoryBackend(clock=clock)
    throttle = HTTPThrottle("t", rate="1/min", registry=registry)
    async with http_client(starlette_app(throttle, backend=backend)) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.get("/health")).status_code == 429
    assert len(backend) == 1


async def test_headers_on_every_response(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    async with http_client(starlette_app(throttle)) as client:
        first = await client.get("/health")
        await client.get("/health")
        denied = await client.get("/health")
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert first.headers["x-ratelimit-limit"] == "2"
    assert denied.status_code == 429
    assert denied.headers["x-ratelimit-remaining"] == "0"


def test_websocket_handshake_denied_by_middleware(backend: Any, registry: Any, test_client: Any, denial: Any) -> None:
    throttle = WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry)

    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hi")
        await websocket.close()

    app = Starlette(
        routes=[WebSocketRoute("/ws", ws_endpoint)],
        middleware=[Middleware(ThrottleMiddleware, middleware_throttles=[throttle])],
    )
    with test_client(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "hi"
        with pytest.raises(denial) as info, client.websocket_connect("/ws"):
            pass  # pragma: no cover  # the handshake is denied
    assert info.value.status_code == 429


def test_method_filter_ignores_websockets_unless_named(backend: Any, registry: Any, test_client: Any) -> None:
    throttle = WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry)

    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    app = Starlette(
        routes=[WebSocketRoute("/ws", ws_endpoint)],
        middleware=[
            Middleware(ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(throttle, methods=["GET"])])
        ],
    )
    with test_client(app) as client:
        for _ in range(3):
            with client.websocket_connect("/ws"):
                pass
    assert backend.hits == 0


def test_invalid_configuration(backend: Any, registry: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    with pytest.raises(ConfigurationError, match=r"'t'.*cost.*-1"):
        MiddlewareThrottle(throttle, cost=-1)
    with pytest.raises(ConfigurationError, match="predicate"):
        MiddlewareThrottle(throttle, predicate="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="path"):
        MiddlewareThrottle(throttle, path="/a/***")
    with pytest.raises(ConfigurationError, match="throttle"):
        MiddlewareThrottle("t")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="middleware_throttles"):
        ThrottleMiddleware(starlette_app(), middleware_throttles=["t"])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError, match="backend"):
        ThrottleMiddleware(starlette_app(), backend="memory://")  # type: ignore[arg-type]
