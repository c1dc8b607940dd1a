"""The 429 body: SPEC-NOTES' default, and the opt-in RFC 9457 problem details."""

from __future__ import annotations

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, problem_details_handler, throttled
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_THROTTLED
from traffik.middleware import ThrottleMiddleware
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, WebSocketThrottle

from .conftest import ClientFactory


def _limited_app(backend: InMemoryBackend, registry: ThrottleRegistry, **options: object) -> FastAPI:
    throttle = HTTPThrottle("t", rate="1/min", headers=DEFAULT_HEADERS_THROTTLED, backend=backend, registry=registry)
    app = FastAPI()
    if options:
        install(app, **options)  # type: ignore[arg-type]  # keyword options of install, per test

    @app.get("/r")
    @throttled(throttle)
    async def route() -> dict[str, str]:
        return {"ok": "yes"}

    return app


async def test_default_body(backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory) -> None:
    async with http_client(_limited_app(backend, registry)) as client:
        await client.get("/r")
        response = await client.get("/r")
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Too many requests. Retry in 60 seconds."}
    assert response.headers["retry-after"] == "60"
    assert response.headers["x-ratelimit-limit"] == "1"


async def test_problem_details_body(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    async with http_client(_limited_app(backend, registry, problem_details=True)) as client:
        ok = await client.get("/r")
        response = await client.get("/r")
    assert ok.json() == {"ok": "yes"}
    assert response.status_code == 429
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Too Many Requests",
        "status": 429,
        "detail": "Too many requests. Retry in 60 seconds.",
        "retry_after": 60,
    }
    assert response.headers["retry-after"] == "60"
    assert response.headers["x-ratelimit-remaining"] == "0"


async def test_problem_type_and_title_are_configurable(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    app = _limited_app(
        backend,
        registry,
        problem_details=True,
        problem_type="https://example.com/rate-limit",
        problem_title="Slow down",
    )
    async with http_client(app) as client:
        await client.get("/r")
        body = (await client.get("/r")).json()
    assert (body["type"], body["title"]) == ("https://example.com/rate-limit", "Slow down")


async def test_problem_details_through_the_middleware(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    app = FastAPI()
    app.add_exception_handler(ConnectionThrottled, problem_details_handler())
    app.add_middleware(ThrottleMiddleware, middleware_throttles=[throttle])

    @app.get("/r")
    async def route() -> dict[str, str]:
        return {}

    async with http_client(app) as client:
        await client.get("/r")
        response = await client.get("/r")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["retry_after"] == 60


def test_problem_details_deny_a_websocket_handshake(
    backend: InMemoryBackend, registry: ThrottleRegistry, test_client: type[TestClient]
) -> None:
    app = install(FastAPI(), problem_details=True)

    @app.websocket("/ws")
    @throttled(WebSocketThrottle("w", rate="1/min", backend=backend, registry=registry))
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    with test_client(app) as client:
        with client.websocket_connect("/ws"):
            pass
        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
            pass
    assert denied.value.status_code == 429
    assert denied.value.headers["content-type"] == "application/problem+json"
    assert denied.value.json()["retry_after"] == 60


@pytest.mark.parametrize(("name", "value"), [("type_uri", ""), ("title", 3)])
def test_problem_handler_validates_its_arguments(name: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be a non-empty string, got {value!r}"):
        problem_details_handler(**{name: value})  # type: ignore[arg-type]  # the misuse under test


def test_install_validates_its_arguments() -> None:
    with pytest.raises(ConfigurationError, match="app must be a FastAPI application, got 'app'"):
        install("app")  # type: ignore[arg-type]  # the misuse under test
    with pytest.raises(ConfigurationError, match="openapi must be True or False, got 1"):
        install(FastAPI(), openapi=1)  # type: ignore[arg-type]  # the misuse under test
    app = install(FastAPI())
    with pytest.raises(ConfigurationError, match="already installed"):
        install(app)
