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
from starlette.types import Message
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


async def test_a_head_request_counts_as_get(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry)
    filtered = HTTPThrottle("f", rate="9/min", backend=backend, registry=registry)
    mw = [MiddlewareThrottle(throttle), MiddlewareThrottle(filtered, methods=["get"])]
    async with http_client(starlette_app(*mw)) as client:
        assert (await client.get("/health")).status_code == 200
        assert (await client.head("/health")).status_code == 200
        assert (await client.head("/health")).status_code == 429  # GET and HEAD share one quota
    assert mw[1].applies_to("http", "HEAD", "/health")
    assert not MiddlewareThrottle(filtered, methods=["HEAD"]).applies_to("http", "GET", "/health")
    assert mw[1].methods == frozenset({"GET"})  # as configured


async def test_a_pattern_is_one_quota_unless_per_path(backend: Any, registry: Any, http_client: Any) -> None:
    pattern = HTTPThrottle("pattern", rate="2/min", backend=backend, registry=registry)
    per_path = HTTPThrottle("per-path", rate="2/min", backend=backend, registry=registry)
    async with http_client(starlette_app(MiddlewareThrottle(pattern, path="/api/*"))) as client:
        assert [(await client.get(f"/api/{n}")).status_code for n in range(3)] == [200, 200, 429]
        assert (await client.post("/api/x")).status_code == 200  # per method, as the throttle's use_method says
    async with http_client(starlette_app(MiddlewareThrottle(per_path, path="/api/*", per_path=True))) as client:
        assert [(await client.get(f"/api/{n}")).status_code for n in range(3)] == [200, 200, 200]
        assert [(await client.get("/api/0")).status_code for _ in range(2)] == [200, 429]


async def test_a_pattern_key_never_meets_a_route_key(backend: Any, registry: Any, http_client: Any) -> None:
    # The same throttle in the middleware (pattern "/health") and hit directly: two counters.
    throttle = HTTPThrottle("both", rate="1/min", backend=backend, registry=registry)
    app = starlette_app(MiddlewareThrottle(throttle, path="/health"))
    async with http_client(app) as client:
        assert (await client.get("/health")).status_code == 200
    request = Request({"type": "http", "method": "GET", "path": "/health", "headers": [], "client": ("203.0.113.1", 1)})
    await throttle.hit(request)  # the concrete path's own counter is still fresh


def test_per_path_is_validated_and_shown(backend: Any, registry: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    with pytest.raises(ConfigurationError, match=r"MiddlewareThrottle\('t'\): per_path.*'yes'"):
        MiddlewareThrottle(throttle, per_path="yes")  # type: ignore[arg-type]
    assert "per_path=True" in repr(MiddlewareThrottle(throttle, per_path=True))


async def test_a_denied_handshake_closes_with_1008_without_the_denial_extension(backend: Any, registry: Any) -> None:
    throttle = WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry)
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        await send({"type": "websocket.accept"})

    middleware = ThrottleMiddleware(app, middleware_throttles=[throttle])

    async def handshake() -> list[dict[str, Any]]:
        # A server without "websocket.http.response" in the scope's extensions.
        scope = {"type": "websocket", "path": "/ws", "headers": [], "client": ("203.0.113.1", 1), "extensions": {}}
        sent: list[dict[str, Any]] = []

        async def receive() -> Message:
            return {"type": "websocket.connect"}

        async def send(message: Message) -> None:
            sent.append(dict(message))

        await middleware(scope, receive, send)
        return sent

    assert await handshake() == [{"type": "websocket.accept"}]
    denied = await handshake()
    assert [message["type"] for message in denied] == ["websocket.close"]
    assert denied[0]["code"] == 1008
    assert reached == ["/ws"]
