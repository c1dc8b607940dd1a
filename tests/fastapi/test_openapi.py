"""OpenAPI: throttled routes document a 429, its headers and the policy; switches turn it off."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import describe_policy, install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS, DEFAULT_HEADERS_THROTTLED
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle


def _throttle(uid: str, rate: Any, backend: InMemoryBackend, registry: ThrottleRegistry, **kw: Any) -> HTTPThrottle:
    return HTTPThrottle(uid, rate=rate, backend=backend, registry=registry, **kw)


def test_decorated_route_documents_429_headers_and_policy(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    api = _throttle("api", "100/min", backend, registry, use_method=False, headers=DEFAULT_HEADERS_ALWAYS)
    app = install(FastAPI())

    @app.get("/items")
    @throttled(api)
    async def items() -> list[int]:
        return []

    @app.get("/free")
    async def free() -> list[int]:
        return []

    paths = app.openapi()["paths"]
    operation = paths["/items"]["get"]
    too_many = operation["responses"]["429"]
    assert "100/min per client (api)" in too_many["description"]
    assert set(too_many["headers"]) == {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"}
    assert too_many["content"]["application/json"]["example"] == {"detail": "Too many requests. Retry in 60 seconds."}
    assert set(operation["responses"]["200"]["headers"]) == {
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "Retry-After",
    }
    assert operation["x-rate-limits"] == [
        {"throttle": "api", "policy": "100/min per client", "limit": 100, "window_seconds": 60}
    ]
    assert "429" not in paths["/free"]["get"]["responses"]
    assert "x-rate-limits" not in paths["/free"]["get"]


def test_throttled_only_headers_are_not_on_success_responses(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    api = _throttle("api", "5/s", backend, registry, headers=DEFAULT_HEADERS_THROTTLED)
    app = install(FastAPI())

    @app.get("/r", dependencies=[throttled(api)])
    async def route() -> None:
        return None

    responses = app.openapi()["paths"]["/r"]["get"]["responses"]
    assert "headers" not in responses["200"]
    assert set(responses["429"]["headers"]) == {"Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining"}


def test_router_app_and_plain_depends_throttles_are_found(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    burst = _throttle("burst", "10/s", backend, registry)
    daily = _throttle("daily", "1000/day", backend, registry)
    plain = _throttle("plain", "5/min", backend, registry)
    app = install(FastAPI(dependencies=[throttled(daily)]))
    router = APIRouter(prefix="/v1", dependencies=[throttled(burst)])

    @router.post("/things", dependencies=[Depends(plain)])
    async def things() -> None:
        return None

    app.include_router(router)
    operation = app.openapi()["paths"]["/v1/things"]["post"]
    assert [limit["throttle"] for limit in operation["x-rate-limits"]] == ["daily", "burst", "plain"]
    assert "1000/d per client and endpoint (daily)" in operation["responses"]["429"]["description"]


def test_switch_off_for_the_app(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    app = install(FastAPI(), openapi=False)

    @app.get("/r")
    @throttled(_throttle("t", "1/s", backend, registry))
    async def route() -> None:
        return None

    assert "429" not in app.openapi()["paths"]["/r"]["get"]["responses"]


def test_switch_off_for_one_route(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    app = install(FastAPI())

    @app.get("/hidden")
    @throttled(_throttle("t", "1/s", backend, registry), openapi=False)
    async def hidden() -> None:
        return None

    operation = app.openapi()["paths"]["/hidden"]["get"]
    assert "429" not in operation["responses"]
    assert "x-rate-limits" not in operation


def test_a_documented_429_is_kept(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    app = install(FastAPI())

    @app.get("/r", responses={429: {"description": "Slow down, please."}})
    @throttled(_throttle("t", "1/s", backend, registry))
    async def route() -> None:
        return None

    operation = app.openapi()["paths"]["/r"]["get"]
    assert operation["responses"]["429"] == {"description": "Slow down, please."}
    assert operation["x-rate-limits"][0]["throttle"] == "t"


def test_problem_details_are_documented(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    app = install(FastAPI(), problem_details=True, problem_type="https://example.com/limits")

    @app.get("/r")
    @throttled(_throttle("t", "2/5s", backend, registry))
    async def route() -> None:
        return None

    content = app.openapi()["paths"]["/r"]["get"]["responses"]["429"]["content"]
    assert list(content) == ["application/problem+json"]
    problem = content["application/problem+json"]
    assert problem["schema"]["required"] == ["type", "title", "status", "detail", "retry_after"]
    assert problem["example"]["type"] == "https://example.com/limits"
    assert problem["example"]["retry_after"] == 5


def test_routes_added_after_the_first_schema_are_documented(
    backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    app = install(FastAPI())
    assert app.openapi()["paths"] == {}

    @app.get("/late")
    @throttled(_throttle("t", "1/s", backend, registry))
    async def late() -> None:
        return None

    schema = app.openapi()
    if "/late" not in schema["paths"]:
        # Older FastAPI (0.134 still) keeps its first schema until the app drops
        # it; newer releases rebuild it when routes change. Either way, a new schema.
        app.openapi_schema = None
        schema = app.openapi()
    assert "429" in schema["paths"]["/late"]["get"]["responses"]


def test_policy_wording(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    async def rate(connection: Any, context: Any) -> Any:
        raise AssertionError("not called to describe the policy")

    assert describe_policy(_throttle("a", "100/min", backend, registry, use_method=False)) == "100/min per client"
    assert describe_policy(_throttle("b", "10/5s", backend, registry)) == "10/5s per client and endpoint"
    assert describe_policy(_throttle("c", rate, backend, registry, use_method=False)) == (
        "a rate computed per request per client"
    )


def test_openapi_json_is_served(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    from fastapi.testclient import TestClient

    app = install(FastAPI())

    @app.get("/r")
    @throttled(_throttle("t", "3/h", backend, registry))
    async def route() -> None:
        return None

    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()
    assert schema["paths"]["/r"]["get"]["x-rate-limits"][0]["policy"] == "3/h per client and endpoint"
