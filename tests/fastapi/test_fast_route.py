"""``FastThrottledRoute``: throttles hit on the raw request, outside FastAPI's dependency resolution."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, WebSocket
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import WebSocketDenialResponse
from traffik import EXEMPTED
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import (
    FastThrottledRoute,
    ThrottledDependency,
    ThrottleGuard,
    install,
    route_throttles,
    throttled,
)
from traffik.decorators._openapi import api_routes
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.registry import BypassThrottleRule, ThrottleRegistry
from traffik.throttles import HTTPThrottle, WebSocketThrottle

from .conftest import ClientFactory
from .test_headers import RETURNS


class Item(BaseModel):
    name: str


_NO_RESPONSE = Response()


def _throttle(uid: str, backend: InMemoryBackend, registry: ThrottleRegistry, **options: Any) -> HTTPThrottle:
    options.setdefault("rate", "2/min")
    return HTTPThrottle(uid, headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry, **options)


# Every way a route declares its throttle: each must be run by the route class, once per request.
DECLARATIONS = ("route-throttled", "route-depends", "router", "include-router", "app", "decorator")


def _declared_app(declaration: str, throttle: HTTPThrottle, guard: ThrottledDependency, log: list[str]) -> FastAPI:
    async def other_dependency() -> None:
        log.append("dependency")

    app = FastAPI(dependencies=[guard] if declaration == "app" else None)
    router_dependencies = [guard] if declaration == "router" else []
    router = APIRouter(route_class=FastThrottledRoute, dependencies=[*router_dependencies, Depends(other_dependency)])
    route_dependencies = {"route-throttled": [guard], "route-depends": [Depends(throttle)]}.get(declaration)
    if declaration == "decorator":

        @router.get("/r")
        @guard
        async def decorated() -> dict[str, str]:
            log.append("endpoint")
            return {"ok": "yes"}

    else:

        @router.get("/r", dependencies=route_dependencies)
        async def plain() -> dict[str, str]:
            log.append("endpoint")
            return {"ok": "yes"}

    if declaration == "app":
        # App dependencies reach the routes FastAPI builds on the app's own router.
        app.router.route_class = FastThrottledRoute
        app.add_api_route("/r", plain, methods=["GET"], dependencies=[Depends(other_dependency)])
    else:
        app.include_router(router, dependencies=[guard] if declaration == "include-router" else None)
    return app


async def _solved_by_fastapi(*args: object, **kwargs: object) -> None:
    raise AssertionError("FastAPI solved a throttle the route class runs itself")


@pytest.mark.parametrize("declaration", DECLARATIONS)
async def test_every_declaration_is_hit_once_per_request_before_other_dependencies(
    declaration: str,
    backend: InMemoryBackend,
    registry: ThrottleRegistry,
    http_client: ClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    throttle = _throttle("t", backend, registry)
    guard = throttled(throttle)
    log: list[str] = []
    app = _declared_app(declaration, throttle, guard, log)
    # What FastAPI would call to solve the throttle as a dependency: never called.
    monkeypatch.setattr(HTTPThrottle, "__call__", _solved_by_fastapi)
    monkeypatch.setattr(ThrottleGuard, "__call__", _solved_by_fastapi)
    # An override of something else leaves the fast path on.
    app.dependency_overrides[_unreachable] = _unreachable
    async with http_client(app) as client:
        responses = [await client.get("/r") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert responses[2].headers["retry-after"] == "60"
    assert responses[2].json() == {"detail": "Too many requests. Retry in 60 seconds."}
    # The throttled request ran no other dependency and never reached the endpoint.
    assert log == ["dependency", "endpoint"] * 2


def _unreachable() -> None:
    raise AssertionError("no route depends on this")


@pytest.mark.parametrize("declaration", ["route-throttled", "route-depends", "include-router", "decorator"])
async def test_dependency_overrides_replace_the_throttles_as_in_the_dependency_mode(
    declaration: str, backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = _throttle("t", backend, registry, rate="1/min")
    guard = throttled(throttle)
    log: list[str] = []
    app = _declared_app(declaration, throttle, guard, log)

    async def unthrottled() -> None:
        log.append("override")

    app.dependency_overrides[throttle] = app.dependency_overrides[guard.guard] = unthrottled
    async with http_client(app) as client:
        overridden = [await client.get("/r") for _ in range(2)]
        app.dependency_overrides.clear()
        enforced = [await client.get("/r") for _ in range(2)]
    assert [r.status_code for r in overridden] == [200, 200]
    assert "x-ratelimit-remaining" not in overridden[0].headers
    assert log.count("override") == 2
    assert [r.status_code for r in enforced] == [200, 429]


@pytest.mark.parametrize("kind", list(RETURNS))
@pytest.mark.parametrize("installed", [False, True], ids=["no-install", "install"])
async def test_headers_on_every_kind_of_response(
    kind: str, installed: bool, backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = _throttle("t", backend, registry)
    log: list[str] = []
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute, dependencies=[throttled(throttle)])

    @router.get("/r")
    async def route() -> Any:
        return RETURNS[kind](log)

    app.include_router(router)
    if installed:
        install(app)
    async with http_client(app) as client:
        responses = [await client.get("/r") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    # Set once, not once per layer, when install()'s middleware sets them too.
    assert [len(r.headers.get_list("x-ratelimit-limit")) for r in responses] == [1, 1, 1]
    if kind == "streaming":
        assert responses[0].text == "one,two"
    if kind == "background":
        assert log == ["ran", "ran"]


async def test_headers_replace_the_endpoints_own_of_the_same_name_and_keep_the_others(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    burst = _throttle("burst", backend, registry, rate="3/min")
    sustained = _throttle("sustained", backend, registry, rate="5/hour")
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute, dependencies=[throttled(burst, sustained)])

    @router.get("/r")
    async def route() -> Response:
        response = PlainTextResponse("own", headers={"X-RateLimit-Limit": "mine", "X-Other": "kept"})
        response.raw_headers.append((b"x-ratelimit-limit", b"a duplicate"))
        return response

    app.include_router(router)
    async with http_client(app) as client:
        response = await client.get("/r")
    assert router.routes[0].throttles == (burst, sustained)  # type: ignore[attr-defined]  # both hit by the route
    # The most restrictive throttle's value, once: the endpoint's value and its duplicate go.
    assert response.headers.get_list("x-ratelimit-limit") == ["3"]
    assert response.headers.get_list("x-ratelimit-remaining") == ["2"]
    assert response.headers["x-other"] == "kept"
    assert response.text == "own"


async def test_headers_on_an_http_exception_and_with_install_on_a_422(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = _throttle("t", backend, registry, rate="5/min")
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute, dependencies=[Depends(throttle)])

    async def authenticate(token: str | None = None) -> None:
        if token is None:
            raise HTTPException(status_code=401, detail="no token", headers={"WWW-Authenticate": "Bearer"})

    @router.post("/items", dependencies=[Depends(authenticate)])
    async def create(item: Item) -> Item:
        raise HTTPException(status_code=409, detail="exists", headers={"X-RateLimit-Remaining": "mine"})

    app.include_router(router)
    installed = install(FastAPI())
    installed.include_router(router)
    async with http_client(app) as client:
        unauthorised = await client.post("/items", json={"name": "a"})
        conflict = await client.post("/items", params={"token": "t"}, json={"name": "a"})
    async with http_client(installed) as client:
        invalid = await client.post("/items", params={"token": "t"}, json={"nope": 1})
    assert (unauthorised.status_code, unauthorised.headers["x-ratelimit-remaining"]) == (401, "4")
    assert unauthorised.headers["www-authenticate"] == "Bearer"
    # The exception's own headers win.
    assert (conflict.status_code, conflict.headers["x-ratelimit-remaining"]) == (409, "mine")
    assert conflict.headers["x-ratelimit-limit"] == "5"
    assert (invalid.status_code, invalid.headers["x-ratelimit-remaining"]) == (422, "2")


async def test_throttled_request_is_refused_before_its_body_is_read(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = _throttle("t", backend, registry, rate="1/min")
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute)

    @router.post("/items", dependencies=[Depends(throttle)])
    async def create(item: Item) -> Item:
        return item

    app.include_router(router)
    async with http_client(app) as client:
        created = await client.post("/items", json={"name": "a"})
        refused = await client.post("/items", content=b"not json", headers={"content-type": "application/json"})
    assert created.json() == {"name": "a"}
    # A dependency would have let FastAPI answer 422 for the body first.
    assert refused.status_code == 429


async def test_cost_rules_and_exemptions_apply(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    def identify(connection: HTTPConnection) -> Any:
        return EXEMPTED if connection.headers.get("x-staff") else connection.client.host  # type: ignore[union-attr]

    costly = _throttle("costly", backend, registry, rate="5/min", cost=2, identifier=identify)
    free_on_head = _throttle("rule", backend, registry, rate="1/min", rules=[BypassThrottleRule(methods={"HEAD"})])
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute)

    @router.get("/r", dependencies=[throttled(costly)])
    async def route() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @router.api_route("/h", methods=["GET", "HEAD"], dependencies=[throttled(free_on_head)])
    async def head_free() -> PlainTextResponse:
        return PlainTextResponse("ok")

    app.include_router(router)
    async with http_client(app) as client:
        paid = [await client.get("/r") for _ in range(3)]
        staff = [await client.get("/r", headers={"x-staff": "1"}) for _ in range(3)]
        heads = [await client.head("/h") for _ in range(3)]
        gets = [await client.get("/h") for _ in range(2)]
    assert [r.status_code for r in paid] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in paid[:2]] == ["3", "1"]
    assert [r.status_code for r in staff] == [200, 200, 200]
    assert all("x-ratelimit-remaining" not in r.headers for r in staff)
    assert [r.status_code for r in heads] == [200, 200, 200]
    assert [r.status_code for r in gets] == [200, 429]


def test_sync_endpoint_and_websocket_routes_on_the_same_router(
    backend: InMemoryBackend, registry: ThrottleRegistry, test_client: type[TestClient]
) -> None:
    http = _throttle("http", backend, registry, rate="1/min")
    app = FastAPI()
    router = APIRouter(route_class=FastThrottledRoute)

    @router.get("/sync", dependencies=[throttled(http)])
    def sync_route() -> dict[str, str]:
        return {"ok": "yes"}

    # route_class covers HTTP routes; a WebSocket route keeps the dependency path.
    @router.websocket("/ws")
    @throttled(WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry))
    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    app.include_router(router)
    with test_client(app) as client:
        assert client.get("/sync").json() == {"ok": "yes"}
        assert client.get("/sync").status_code == 429
        with client.websocket_connect("/ws") as connection:
            assert connection.receive_text() == "hello"
        with pytest.raises(WebSocketDenialResponse) as denied, client.websocket_connect("/ws"):
            pass
    assert denied.value.status_code == 429


async def test_what_stays_with_fastapi_is_still_hit_once(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    """A throttle inside another dependency, and a subclass with its own ``__call__``, are FastAPI's to run."""
    nested = _throttle("nested", backend, registry, rate="3/min")
    calls: list[str] = []

    class Audited(HTTPThrottle):
        async def __call__(self, connection: HTTPConnection, response: Response = _NO_RESPONSE) -> HTTPConnection:
            calls.append("audited")
            return await super().__call__(connection, response)

    # Evaluated annotations: FastAPI before 0.123.7 cannot resolve this module's string annotations.
    Audited.__call__.__signature__ = inspect.signature(HTTPThrottle.__call__)  # type: ignore[attr-defined]  # read by inspect
    audited = Audited("audited", rate="5/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)

    async def user(request: Request, _: object = Depends(nested)) -> str:
        return "user"

    app = FastAPI()
    # `nested` is also a top-level dependency: FastAPI's cache must still see both uses.
    router = APIRouter(route_class=FastThrottledRoute, dependencies=[Depends(nested)])

    @router.get("/r", dependencies=[Depends(audited)])
    async def route(name: str = Depends(user)) -> dict[str, str]:
        return {"user": name}

    app.include_router(router)
    async with http_client(app) as client:
        response = await client.get("/r")
    assert response.json() == {"user": "user"}
    assert calls == ["audited"]
    assert (await nested.stat(_request("/r"))).hits_remaining == 2  # type: ignore[union-attr]
    assert route_throttles(_only_route(app)) == [nested, audited]


def _request(path: str) -> Request:
    scope = {"type": "http", "method": "GET", "path": path, "headers": [], "client": ("203.0.113.1", 1234)}
    return Request(scope)


def _only_route(app: FastAPI) -> Any:
    (route,) = [r for r in api_routes(app.routes) if r.path_format == "/r"]
    return route


def test_routes_without_throttles_are_plain_api_routes() -> None:
    router = APIRouter(route_class=FastThrottledRoute)

    @router.get("/free")
    async def free() -> dict[str, str]:
        return {}

    route = router.routes[0]
    assert isinstance(route, FastThrottledRoute)
    assert route.throttles == ()


def _schema(route_class: type[APIRoute], backend: InMemoryBackend, registry: ThrottleRegistry) -> dict[str, Any]:
    burst = _throttle("burst", backend, registry, rate="10/s")
    daily = _throttle("daily", backend, registry, rate="1000/day")
    hidden = _throttle("hidden", backend, registry, rate="1/s")
    app = install(FastAPI(), problem_details=True)
    router = APIRouter(route_class=route_class, dependencies=[throttled(burst)])

    @router.post("/items/{item_id}", dependencies=[Depends(daily), throttled(hidden, openapi=False)])
    async def update(item_id: int, item: Item, q: str | None = None) -> Item:
        return item

    @router.get("/decorated")
    @throttled(daily)
    async def decorated(page: int = 1) -> list[int]:
        return [page]

    app.include_router(router, prefix="/v1")
    return app.openapi()


def test_openapi_schema_is_the_dependency_modes(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    fast = _schema(FastThrottledRoute, backend, registry)
    assert fast == _schema(APIRoute, backend, ThrottleRegistry())
    operation = fast["paths"]["/v1/items/{item_id}"]["post"]
    assert operation["responses"]["429"]["content"].keys() == {"application/problem+json"}
    assert [limit["throttle"] for limit in operation["x-rate-limits"]] == ["burst", "daily"]
    assert [p["name"] for p in fast["paths"]["/v1/decorated"]["get"]["parameters"]] == ["page"]


async def test_problem_details_from_install(
    backend: InMemoryBackend, registry: ThrottleRegistry, http_client: ClientFactory
) -> None:
    throttle = _throttle("t", backend, registry, rate="1/min")
    app = install(FastAPI(), problem_details=True)
    app.router.route_class = FastThrottledRoute

    @app.get("/r", dependencies=[throttled(throttle)])
    async def route() -> dict[str, str]:
        return {}

    async with http_client(app) as client:
        await client.get("/r")
        refused = await client.get("/r")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["x-ratelimit-remaining"] == "0"
