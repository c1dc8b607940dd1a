"""The Starlette decorator ``throttled(*throttles)``: text/plain 429, headers on any response."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.exceptions import ConfigurationError
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.throttles import throttled


async def test_decorated_endpoint_429_is_plain_text(backend: Any, registry: Any, http_client: Any, clock: Any) -> None:
    clock.set(60_000_000.0)  # the start of a one-minute window
    limit = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)

    @throttled(limit)
    async def homepage(request: Request) -> Response:
        return PlainTextResponse("home")

    app = Starlette(routes=[Route("/", homepage)])
    async with http_client(app) as client:
        assert (await client.get("/")).text == "home"
        response = await client.get("/")
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Too many requests. Retry in 60 seconds."
    assert response.headers["retry-after"] == "60"


async def test_decorator_applies_every_throttle_and_sets_headers(
    backend: Any, registry: Any, http_client: Any, clock: Any
) -> None:
    burst = HTTPThrottle("burst", rate="1/s", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    sustained = HTTPThrottle("sustained", rate="2/min", backend=backend, registry=registry)

    @throttled(burst, sustained)
    async def stream(request: Request) -> Response:
        async def body() -> Any:
            yield b"data"

        return StreamingResponse(body())

    app = Starlette(routes=[Route("/", stream)])
    async with http_client(app) as client:
        first = await client.get("/")
        assert first.headers["x-ratelimit-limit"] == "1"
        assert first.headers["x-ratelimit-remaining"] == "0"
        assert (await client.get("/")).status_code == 429  # burst
        clock.advance(1_000)
        assert (await client.get("/")).status_code == 200
        clock.advance(1_000)
        assert (await client.get("/")).status_code == 429  # sustained


async def test_decorator_on_http_endpoint_method(backend: Any, registry: Any, http_client: Any) -> None:
    limit = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)

    class Items(HTTPEndpoint):
        @throttled(limit)
        async def get(self, request: Request) -> Response:
            return JSONResponse({"items": []})

    app = Starlette(routes=[Route("/items", Items)])
    async with http_client(app) as client:
        assert (await client.get("/items")).status_code == 200
        assert (await client.get("/items")).status_code == 429


def test_decorator_on_websocket_endpoint_denies_handshake(
    backend: Any, registry: Any, test_client: Any, denial: Any, clock: Any
) -> None:
    clock.set(60_000_000.0)
    limit = WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry)

    @throttled(limit)
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app = Starlette(routes=[WebSocketRoute("/ws", ws_endpoint)])
    with test_client(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "hello"
        with pytest.raises(denial) as info, client.websocket_connect("/ws"):
            pass  # pragma: no cover  # the handshake is denied
    assert info.value.status_code == 429
    assert info.value.headers["retry-after"] == "60"


def test_decorator_needs_throttles() -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        throttled()
    with pytest.raises(ConfigurationError, match="'nope'"):
        throttled("nope")  # type: ignore[arg-type]
