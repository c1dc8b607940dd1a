"""``@throttled(...)`` under ``@app.get``/``@app.websocket`` and as ``dependencies=[throttled(...)]``."""

from __future__ import annotations

import inspect
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import fastapi
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query, WebSocket
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.requests import HTTPConnection
from starlette.responses import Response
from starlette.testclient import WebSocketDenialResponse
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.decorators import ThrottledDependency, throttled
from traffik.exceptions import ConfigurationError
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, MiddlewareThrottle, WebSocketThrottle

from .conftest import ClientFactory


class Item(BaseModel):
    name: str
    price: float


def _fastapi_version() -> tuple[int, int]:
    major, minor = fastapi.__version__.split(".")[:2]
    return int(major), int(minor)


def http_throttle(uid: str, rate: str, backend: InMemoryBackend, registry: ThrottleRegistry) -> HTTPThrottle:
    return HTTPThrottle(uid, rate=rate, backend=backend, registry=registry)


async def test_burst_and_sustained_both_apply(
    backend: InMemoryBackend, registry: ThrottleRegistry, clock: ManualClock, http_client: ClientFactory
) -> None:
    burst = http_throttle("burst", "2/s", backend, registry)
    sustained = http_throttle("sustained", "3/min", backend, registry)
    app = FastAPI()

    @app.get("/items")
    @throttled(burst, sustained)
    async def items() -> dict[str, bool]:
        return {"ok": True}

    async with http_client(app) as client:
        first = [(await client.get("/items")).status_code for _ in range(3)]
        clock.advance(1_000)  # the burst window passes; the sustained one does not
        second = [(await client.get("/items")).status_code for _ in range(2)]
    assert first == [200, 200, 429]
    assert second == [200, 429]


async def test_signature_and_openapi_parameters_are_preserved(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    app = FastAPI()

    async def read_item(
        item_id: int, q: Annotated[str | None, Query(max_length=5)] = None, verbose: bool = False
    ) -> dict[str, Any]:
        return {"item_id": item_id, "q": q, "verbose": verbose}

    decorated = throttled(http_throttle("t", "10/s", backend, registry))(read_item)
    app.get("/items/{item_id}")(decorated)

    assert decorated.__name__ == "read_item"
    assert decorated.__wrapped__ is read_item  # type: ignore[attr-defined]  # set by functools.update_wrapper
    assert list(inspect.signature(read_item).parameters) == ["item_id", "q", "verbose"]
    parameters = app.openapi()["paths"]["/items/{item_id}"]["get"]["parameters"]
    assert [(p["name"], p["in"]) for p in parameters] == [("item_id", "path"), ("q", "query"), ("verbose", "query")]
    async with http_client(app) as client:
        ok = await client.get("/items/7", params={"q": "abc", "verbose": "true"})
        invalid = await client.get("/items/7", params={"q": "too long"})
    assert ok.json() == {"item_id": 7, "q": "abc", "verbose": True}
    assert invalid.status_code == 422


def test_signatures_fastapi_reads_suit_every_supported_fastapi(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    # FastAPI before 0.128.2 refuses a Depends on a parameter annotated Request,
    # WebSocket or HTTPConnection; before 0.123.7 it leaves string annotations of
    # a dependency object's __call__ unresolved (a 422 on every request).
    guard = throttled(http_throttle("t", "10/s", backend, registry))

    @guard
    async def read_item(item_id: int) -> int:
        return item_id

    injected = [p for p in inspect.signature(read_item).parameters.values() if p.default is guard]
    assert [(p.kind, p.annotation) for p in injected] == [(inspect.Parameter.KEYWORD_ONLY, object)]
    annotations = {name: p.annotation for name, p in inspect.signature(guard.guard).parameters.items()}
    assert annotations == {"connection": HTTPConnection, "response": Response}


async def test_request_body_models_still_validate(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    app = FastAPI()

    @app.post("/items")
    @throttled(http_throttle("t", "1/min", backend, registry))
    async def create(item: Item) -> Item:
        return item

    async with http_client(app) as client:
        created = await client.post("/items", json={"name": "pen", "price": 1.5})
        throttled_response = await client.post("/items", json={"name": "pen", "price": 1.5})
    assert created.json() == {"name": "pen", "price": 1.5}
    assert throttled_response.status_code == 429


async def test_sync_endpoint_runs_in_the_threadpool(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    app = FastAPI()
    threads: list[str] = []

    @app.get("/sync")
    @throttled(http_throttle("t", "1/min", backend, registry))
    def sync_endpoint() -> dict[str, str]:
        threads.append(threading.current_thread().name)
        return {"mode": "sync"}

    async with http_client(app) as client:
        ok = await client.get("/sync")
        denied = await client.get("/sync")
    assert ok.json() == {"mode": "sync"}
    assert denied.status_code == 429
    assert len(threads) == 1
    assert threads[0] != threading.main_thread().name


async def test_throttled_request_never_reaches_the_endpoint(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    app = FastAPI()
    calls: list[int] = []

    @app.get("/")
    @throttled(http_throttle("t", "1/min", backend, registry))
    async def root() -> None:
        calls.append(1)

    async with http_client(app) as client:
        await client.get("/")
        await client.get("/")
    assert calls == [1]


async def test_stacked_decorators_each_apply(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    outer = http_throttle("outer", "5/min", backend, registry)
    inner = http_throttle("inner", "1/min", backend, registry)
    app = FastAPI()

    @app.get("/")
    @throttled(outer)
    @throttled(inner)
    async def root() -> str:
        return "ok"

    async with http_client(app) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/")).status_code == 429
    # The outer throttle counted both requests: it runs before the inner one.
    stat = await outer.stat(_request("/"))
    assert stat is not None
    assert stat.hits_remaining == 3


def _request(path: str) -> Any:
    from starlette.requests import Request

    return Request({"type": "http", "method": "GET", "path": path, "client": ("203.0.113.1", 1), "headers": []})


@pytest.mark.parametrize("where", ["route", "router", "app"])
async def test_as_dependencies_on_route_router_and_app(
    where: str, backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    dependency = throttled(http_throttle("t", "1/min", backend, registry))
    assert isinstance(dependency, ThrottledDependency)
    app = FastAPI(dependencies=[dependency] if where == "app" else None)
    router = APIRouter(dependencies=[dependency] if where == "router" else None)

    @router.get("/r", dependencies=[dependency] if where == "route" else None)
    async def route() -> dict[str, int]:
        return {"n": 1}

    app.include_router(router)
    async with http_client(app) as client:
        statuses = [(await client.get("/r")).status_code for _ in range(2)]
    assert statuses == [200, 429]


async def test_same_dependency_on_router_and_route_counts_once(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    dependency = throttled(http_throttle("t", "2/min", backend, registry))
    router = APIRouter(dependencies=[dependency])

    @router.get("/r", dependencies=[dependency])
    async def route() -> dict[str, int]:
        return {"n": 1}

    app = FastAPI()
    app.include_router(router)
    async with http_client(app) as client:
        statuses = [(await client.get("/r")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_websocket_route_denies_the_handshake_when_throttled(
    backend: InMemoryBackend, registry: ThrottleRegistry, test_client: type[TestClient]
) -> None:
    app = FastAPI()

    @app.websocket("/ws/{room}")
    @throttled(WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry))
    async def chat(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        await websocket.send_json({"room": room})
        await websocket.close()

    with test_client(app) as client:
        with client.websocket_connect("/ws/lobby") as socket:
            assert socket.receive_json() == {"room": "lobby"}
        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws/lobby"):
            pass
    assert denied.value.status_code == 429
    assert denied.value.headers["retry-after"] == "60"


def test_websocket_throttle_in_dependencies(
    backend: InMemoryBackend, registry: ThrottleRegistry, test_client: type[TestClient]
) -> None:
    app = FastAPI()
    guard = throttled(WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry))

    @app.websocket("/ws", dependencies=[guard])
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    with test_client(app) as client:
        with client.websocket_connect("/ws") as socket:
            assert socket.receive_text() == "hello"
        with pytest.raises(WebSocketDenialResponse), client.websocket_connect("/ws"):
            pass


def test_no_throttle_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one throttle"):
        throttled()


@pytest.mark.parametrize(
    "bad", [pytest.param("100/min", id="string"), pytest.param(None, id="none"), pytest.param(42, id="int")]
)
def test_non_throttles_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match=repr(bad)):
        throttled(bad)


def test_middleware_throttle_is_refused(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    wrapped = MiddlewareThrottle(http_throttle("t", "1/s", backend, registry))
    with pytest.raises(ConfigurationError, match="HTTPThrottle or WebSocketThrottle"):
        throttled(wrapped)  # type: ignore[arg-type]  # the misuse under test


def test_mixed_connection_types_are_refused(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match="must all be HTTPThrottle or all WebSocketThrottle"):
        throttled(
            http_throttle("h", "1/s", backend, registry),
            WebSocketThrottle("w", rate="1/s", backend=backend, registry=registry),
        )


def test_websocket_throttle_on_http_endpoint_fails_at_decoration(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    decorator = throttled(WebSocketThrottle("w", rate="1/s", backend=backend, registry=registry))

    async def page() -> str:
        return "html"

    with pytest.raises(ConfigurationError, match=r"is an HTTP endpoint; its throttles must be HTTPThrottle"):
        decorator(page)


def test_http_throttle_on_websocket_endpoint_fails_at_decoration(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    decorator = throttled(http_throttle("h", "1/s", backend, registry))

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()

    with pytest.raises(ConfigurationError, match=r"is a WebSocket endpoint; its throttles must be WebSocketThrottle"):
        decorator(socket)


def test_decorating_a_non_function_is_refused(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    decorator = throttled(http_throttle("h", "1/s", backend, registry))
    with pytest.raises(ConfigurationError, match="decorates an endpoint function"):
        decorator(Item)


def test_openapi_flag_must_be_a_bool(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match="openapi must be True or False, got 'no'"):
        throttled(http_throttle("h", "1/s", backend, registry), openapi="no")  # type: ignore[arg-type]  # misuse


async def test_websocket_dependency_on_http_route_is_a_clear_error(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    app = FastAPI()
    guard = throttled(WebSocketThrottle("w", rate="1/s", backend=backend, registry=registry))

    @app.get("/", dependencies=[guard])
    async def root() -> str:
        return "ok"

    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        with pytest.raises(ConfigurationError, match=r"WebSocket throttles \['w'\] used on the HTTP route '/'"):
            await client.get("/")


def test_depends_annotation_style_still_works(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    throttle = http_throttle("t", "1/min", backend, registry)
    app = FastAPI()

    @app.get("/")
    @throttled(throttle)
    async def root(user: Annotated[str, Depends(lambda: "alice")]) -> dict[str, str]:
        return {"user": user}

    with TestClient(app) as client:
        assert client.get("/").json() == {"user": "alice"}
        assert client.get("/").status_code == 429


@pytest.mark.skipif(
    _fastapi_version() < (0, 134),
    reason="FastAPI serves generator endpoints from 0.134.0; older releases cannot serve them, throttled or not",
)
async def test_generator_endpoints_stream_with_headers(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = HTTPThrottle("t", rate="3/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/async-lines")
    @throttled(throttle)
    async def async_lines() -> AsyncIterator[int]:
        for number in range(3):
            yield number

    @app.get("/lines")
    @throttled(throttle)
    def lines() -> Iterator[int]:
        yield from range(2)

    async with http_client(app) as client:
        first = await client.get("/async-lines")
        second = await client.get("/lines")
    assert first.text.split() == ["0", "1", "2"]
    assert first.headers["x-ratelimit-remaining"] == "2"
    assert second.text.split() == ["0", "1"]
    assert second.headers["x-ratelimit-remaining"] == "2"  # counted per endpoint


async def test_decorated_endpoint_can_still_be_called_directly(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    @throttled(http_throttle("t", "1/min", backend, registry))
    async def add(a: int, b: int = 1) -> int:
        return a + b

    @throttled(http_throttle("s", "1/min", backend, registry))
    def double(a: int) -> int:
        return 2 * a

    assert await add(2, b=3) == 5
    assert double(4) == 8
