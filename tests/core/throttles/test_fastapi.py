"""HTTPThrottle as a FastAPI dependency on routes, routers and apps, over httpx's ASGI transport."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from traffik import HTTPThrottle
from traffik.headers import DEFAULT_HEADERS_ALWAYS, DEFAULT_HEADERS_THROTTLED, Header, Headers
from traffik.middleware import ThrottleMiddleware
from traffik.registry import BypassThrottleRule, ThrottleRule


async def test_dependency_answers_429_json_with_retry_after(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/s", backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/items", dependencies=[Depends(throttle)])
    async def items() -> dict[str, int]:
        return {"ok": 1}

    async with http_client(app) as client:
        assert [(await client.get("/items")).status_code for _ in range(2)] == [200, 200]
        response = await client.get("/items")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"detail": "Too many requests. Retry in 1 second."}


async def test_lifespan_installed_backend(clock: Any, registry: Any, http_client: Any) -> None:
    from traffik.backends.inmemory import InMemoryBackend

    backend = InMemoryBackend(clock=clock)
    throttle = HTTPThrottle("t", rate="1/min", registry=registry)
    app = FastAPI(lifespan=backend.lifespan)

    @app.get("/", dependencies=[Depends(throttle)])
    async def root() -> str:
        return "hi"

    async with backend.lifespan(app), http_client(app) as client:
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/")).status_code == 429


async def test_always_headers_on_200_and_throttled_on_429(backend: Any, registry: Any, http_client: Any) -> None:
    headers = Headers(
        {
            "X-RateLimit-Limit": Header.LIMIT(when="always"),
            "X-RateLimit-Remaining": Header.REMAINING(when="always"),
            "Retry-After": Header.RESET_SECONDS(when="throttled"),
        }
    )
    throttle = HTTPThrottle("t", rate="2/min", headers=headers, backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/", dependencies=[Depends(throttle)])
    async def root() -> dict[str, str]:
        return {}

    async with http_client(app) as client:
        first = await client.get("/")
        second = await client.get("/")
        third = await client.get("/")
    assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
    assert "retry-after" not in first.headers
    # The second request spent the last unit: the client is now out of quota.
    assert second.headers["x-ratelimit-remaining"] == "0"
    assert int(second.headers["retry-after"]) >= 0
    assert third.status_code == 429
    assert third.headers["x-ratelimit-remaining"] == "0"
    assert int(third.headers["retry-after"]) >= 1


async def test_throttled_preset_only_on_429(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/min", headers=DEFAULT_HEADERS_THROTTLED, backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/", dependencies=[Depends(throttle)])
    async def root() -> dict[str, str]:
        return {}

    async with http_client(app) as client:
        ok = await client.get("/")
        await client.get("/")
        denied = await client.get("/")
    assert "x-ratelimit-limit" not in ok.headers
    assert denied.status_code == 429
    assert denied.headers["x-ratelimit-limit"] == "2"
    assert denied.headers["x-ratelimit-remaining"] == "0"


async def test_headers_on_response_objects_with_middleware(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="5/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    app = FastAPI()
    app.add_middleware(ThrottleMiddleware)

    @app.get("/text", dependencies=[Depends(throttle)])
    async def text() -> PlainTextResponse:
        return PlainTextResponse("plain")

    @app.get("/stream", dependencies=[Depends(throttle)])
    async def stream() -> StreamingResponse:
        async def body() -> Any:
            yield b"chunk"

        return StreamingResponse(body())

    @app.get("/direct")
    async def direct(request: Request) -> PlainTextResponse:
        await throttle.hit(request)
        return PlainTextResponse("direct")

    async with http_client(app) as client:
        text_response = await client.get("/text")
        stream_response = await client.get("/stream")
        direct_response = await client.get("/direct")
    assert text_response.headers["x-ratelimit-remaining"] == "4"
    assert stream_response.headers["x-ratelimit-remaining"] == "4"
    assert stream_response.text == "chunk"
    assert direct_response.headers["x-ratelimit-remaining"] == "4"


async def test_direct_hit_in_route(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    app = FastAPI()

    @app.get("/")
    async def root(request: Request) -> dict[str, str]:
        await throttle.hit(request)
        return {"ok": "yes"}

    async with http_client(app) as client:
        assert (await client.get("/")).status_code == 200
        response = await client.get("/")
    assert response.status_code == 429
    assert response.json()["detail"].startswith("Too many requests")


async def test_several_throttles_on_one_route_all_apply(
    backend: Any, registry: Any, http_client: Any, clock: Any
) -> None:
    burst = HTTPThrottle("burst", rate="2/s", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    sustained = HTTPThrottle(
        "sustained", rate="3/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry
    )
    app = FastAPI()

    @app.get("/", dependencies=[Depends(burst), Depends(sustained)])
    async def root() -> dict[str, str]:
        return {}

    clock.set(60_000_000.0)
    async with http_client(app) as client:
        first = await client.get("/")
        # The most restrictive throttle wins the X-RateLimit-* headers: burst has 1 left, sustained 2.
        assert (first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]) == ("2", "1")
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/")).status_code == 429  # burst
        clock.advance(1_000)
        assert (await client.get("/")).status_code == 200
        clock.advance(1_000)
        denied = await client.get("/")  # sustained: 3 per minute used up
    assert denied.status_code == 429
    assert int(denied.headers["retry-after"]) > 50


async def test_router_and_app_dependencies(backend: Any, registry: Any, http_client: Any) -> None:
    app_wide = HTTPThrottle("app", rate="100/min", backend=backend, registry=registry, use_method=False)
    router_wide = HTTPThrottle("router", rate="1/min", backend=backend, registry=registry)
    app = FastAPI(dependencies=[Depends(app_wide)])
    router = APIRouter(dependencies=[Depends(router_wide)])

    @router.get("/r")
    async def in_router() -> str:
        return "r"

    @app.get("/free")
    async def free() -> str:
        return "free"

    app.include_router(router)
    async with http_client(app) as client:
        assert (await client.get("/r")).status_code == 200
        assert (await client.get("/r")).status_code == 429
        assert [(await client.get("/free")).status_code for _ in range(3)] == [200, 200, 200]
    stat = await app_wide.stat(Request({"type": "http", "method": "GET", "path": "/", "client": ("203.0.113.1", 1)}))
    assert stat is not None
    assert stat.hits_remaining == 95


async def test_rules_and_bypass_rules(backend: Any, registry: Any, http_client: Any) -> None:
    throttle = HTTPThrottle(
        "t",
        rate="1/min",
        rules=[ThrottleRule(path="/api/**"), BypassThrottleRule(methods={"get"}, path="/api/public/*")],
        backend=backend,
        registry=registry,
    )
    app = FastAPI(dependencies=[Depends(throttle)])

    @app.get("/api/public/{name}")
    async def public(name: str) -> str:
        return name

    @app.post("/api/public/{name}")
    async def public_post(name: str) -> str:
        return name

    @app.get("/other")
    async def other() -> str:
        return "other"

    async with http_client(app) as client:
        assert [(await client.get("/api/public/x")).status_code for _ in range(3)] == [200] * 3
        assert [(await client.get("/other")).status_code for _ in range(3)] == [200] * 3
        assert (await client.post("/api/public/x")).status_code == 200
        assert (await client.post("/api/public/x")).status_code == 429
    assert backend.hits == 2


async def test_exempted_identifier_in_app(backend: Any, registry: Any, http_client: Any) -> None:
    from traffik import EXEMPTED

    async def identifier(request: Any) -> Any:
        return EXEMPTED if request.headers.get("x-admin-key") == "secret" else request.client.host

    throttle = HTTPThrottle("t", rate="1/min", identifier=identifier, backend=backend, registry=registry)
    app = FastAPI(dependencies=[Depends(throttle)])

    @app.get("/")
    async def root() -> str:
        return "ok"

    async with http_client(app) as client:
        codes = [(await client.get("/", headers={"x-admin-key": "secret"})).status_code for _ in range(5)]
    assert codes == [200] * 5
    assert backend.hits == 0
