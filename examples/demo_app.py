"""A small throttled Starlette app, and a client that shows what a user of it sees.

Run the walkthrough (in-process, on a manual clock, so it takes no time)::

    .venv/bin/python examples/demo_app.py

Serve it for real with any ASGI server, e.g. ``uvicorn examples.demo_app:app``.

Routes:

* ``GET /api/search``: 3 per second (fixed window), rate limit headers on every response.
* ``POST /api/upload``: a token bucket of 4 per 2 seconds, each upload costing 2, plus a
  sustained 6 per minute; IETF draft ``RateLimit`` headers.
* ``GET /health``: never throttled (a bypass rule of the app-wide middleware throttle).
* Every ``/api/**`` request also counts against an app-wide 20 per minute per client
  (sliding window counter), applied by ``ThrottleMiddleware``.

Only traffik-core is needed: the client below speaks ASGI directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import Clock, ManualClock
from traffik.headers import DEFAULT_HEADERS_ALWAYS, DRAFT_RATELIMIT_HEADERS
from traffik.middleware import MiddlewareThrottle, ThrottleMiddleware
from traffik.registry import BypassThrottleRule, ThrottleRegistry
from traffik.strategies import FixedWindow, SlidingWindowCounter, TokenBucket
from traffik.throttles import HTTPThrottle, throttled


def create_app(clock: Clock | None = None) -> Starlette:
    """Build the demo app; ``clock`` lets the walkthrough move time instead of sleeping."""
    backend = InMemoryBackend(namespace="demo", clock=clock)
    registry = ThrottleRegistry()  # private, so several demo apps can coexist in one process

    search_limit = HTTPThrottle(
        "demo:search", rate="3/s", strategy=FixedWindow(), headers=DEFAULT_HEADERS_ALWAYS, registry=registry
    )
    upload_burst = HTTPThrottle(
        "demo:upload:burst",
        rate="4/2s",
        cost=2,
        strategy=TokenBucket(),
        headers=DRAFT_RATELIMIT_HEADERS,
        registry=registry,
    )
    upload_sustained = HTTPThrottle("demo:upload:sustained", rate="6/min", cost=2, registry=registry)
    app_wide = HTTPThrottle(
        "demo:app",
        rate="20/min",
        strategy=SlidingWindowCounter(),
        use_method=False,
        rules=[BypassThrottleRule(path="/health")],
        registry=registry,
    )

    @throttled(search_limit)
    async def search(request: Request) -> Response:
        return JSONResponse({"results": [], "q": request.query_params.get("q", "")})

    @throttled(upload_burst, upload_sustained)
    async def upload(request: Request) -> Response:
        return JSONResponse({"stored": True}, status_code=201)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/api/search", search),
            Route("/api/upload", upload, methods=["POST"]),
            Route("/health", health),
        ],
        middleware=[
            Middleware(
                ThrottleMiddleware,
                middleware_throttles=[MiddlewareThrottle(app_wide)],
                backend=backend,
            )
        ],
        lifespan=backend.lifespan,
    )
    # Keep the throttles alive as long as the app (the registry only holds weak references).
    app.state.throttles = (search_limit, upload_burst, upload_sustained, app_wide)
    return app


app = create_app()
"""The app with the real clock, for ``uvicorn examples.demo_app:app``."""


async def call(asgi: Starlette, method: str, path: str) -> tuple[int, dict[str, str], str]:
    """One request straight through ASGI: ``(status, headers, body)``."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"demo")],
        "client": ("192.0.2.10", 50000),
        "server": ("demo", 80),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await asgi(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, body.decode()


_SHOWN = ("x-ratelimit-limit", "x-ratelimit-remaining", "retry-after", "ratelimit", "ratelimit-policy")


def describe(method: str, path: str, status: int, headers: dict[str, str], body: str) -> str:
    """One line of what the user sees."""
    shown = "  ".join(f"{name}: {headers[name]}" for name in _SHOWN if name in headers)
    text = body if status == 429 else ""
    if status == 429 and headers.get("content-type", "").startswith("application/json"):
        text = json.loads(body)["detail"]
    return f"{method:<5}{path:<13}-> {status}  {shown}  {text}".rstrip()


async def walkthrough(print_line: Callable[[str], None] = print) -> None:
    """Drive the demo app and print every response a client would get."""
    clock = ManualClock(3_600_000.0)  # on a window boundary, so the numbers are round
    demo = create_app(clock)
    async with demo.router.lifespan_context(demo):

        async def request(method: str, path: str) -> None:
            status, headers, body = await call(demo, method, path)
            print_line(describe(method, path, status, headers, body))

        def wait(ms: int) -> None:
            clock.advance(ms)
            print_line(f"... {ms} ms later")

        print_line("== search: 3 per second, headers on every response")
        for _ in range(4):
            await request("GET", "/api/search")
        wait(1_000)
        await request("GET", "/api/search")

        print_line("== upload: token bucket 4 per 2 s (cost 2 each) and 6 per minute")
        for _ in range(3):
            await request("POST", "/api/upload")
        wait(1_000)
        await request("POST", "/api/upload")
        wait(1_000)
        await request("POST", "/api/upload")

        print_line("== health: bypasses the app-wide limit")
        for _ in range(2):
            await request("GET", "/health")

        print_line("== app-wide: 20 per minute across /api/**")
        for _ in range(12):
            status, headers, body = await call(demo, "GET", "/api/search")
            clock.advance(400)  # stay under the search limit, not the app-wide one
        print_line(describe("GET", "/api/search", status, headers, body))


if __name__ == "__main__":
    asyncio.run(walkthrough())
