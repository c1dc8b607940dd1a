"""Key attacks: a client that varies part of its request to land in a fresh counter, or breaks the key.

A key is built from the throttle's uid, the client's identity, the method and
the path. Whatever a client can vary (the method, a path parameter, the bytes
of its identity) must either leave it in the same counter or be refused; it
must never make a key a backend cannot store, and two different identities
must never share a counter.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConnectionThrottled
from traffik.keys import build_key, escape_component
from traffik.middleware import MiddlewareThrottle, ThrottleMiddleware
from traffik.registry import ThrottleRegistry, ThrottleRule

LIMIT = 5
ATTEMPTS = 10
# An hour-long window: a fixed window on the real clock must not roll over mid-test.
RATE = f"{LIMIT}/hour"


def request_from(identity: str, method: str = "GET", path: str = "/") -> Request:
    return Request({"type": "http", "method": method, "path": path, "headers": [], "identity": identity})


def identity_of(connection: Request) -> str:
    identity: str = connection.scope["identity"]
    return identity


def make_throttle(backend: ThrottleBackend, on_error: str = "raise", **options: object) -> HTTPThrottle:
    return HTTPThrottle(
        "keys",
        rate=RATE,
        backend=backend,
        identifier=identity_of,
        on_error=on_error,  # type: ignore[arg-type]
        registry=ThrottleRegistry(),
        **options,  # type: ignore[arg-type]
    )


async def admitted(throttle: HTTPThrottle, request: Request) -> bool:
    try:
        await throttle.hit(request)
    except ConnectionThrottled:
        return False
    return True


async def count_admitted(throttle: HTTPThrottle, identity: str, attempts: int = ATTEMPTS, **where: str) -> int:
    return sum([await admitted(throttle, request_from(identity, **where)) for _ in range(attempts)])


# -- identities no backend can encode as they are ---------------------------------------------------------

SURROGATES = {
    "low-surrogate": "user\udcff",
    "high-surrogate": "user\ud800",
    "only-surrogate": "\udfff",
    "reversed-pair": "\udc00\ud800",
    "surrogate-and-colon": "a:\udcff:b",
}


@pytest.mark.parametrize("name", list(SURROGATES))
@pytest.mark.parametrize("on_error", ["raise", "allow"])
async def test_an_identity_with_a_lone_surrogate_is_counted_and_limited(
    backend: ThrottleBackend, name: str, on_error: str
) -> None:
    throttle = make_throttle(backend, on_error=on_error)
    assert await count_admitted(throttle, SURROGATES[name]) == LIMIT


# Pairs of different identities that a lossy escape of surrogates would merge.
LOOKALIKES = [
    ("user\udcff", "user\\udcff"),
    ("user\udcff", "user\\\\udcff"),
    ("user\udcff", "user\udcfe"),
    ("user\udcff", "user"),
    ("user\udcff", "user?"),
    ("user\udcff", "user\ufffd"),
    ("user\udcff", "user\\xff"),
    ("\ud83d\ude00", "\U0001f600"),  # a surrogate pair written as two code points vs the real character
]


@pytest.mark.parametrize(("first", "second"), LOOKALIKES, ids=[ascii(a) + "|" + ascii(b) for a, b in LOOKALIKES])
async def test_escaped_surrogates_never_share_a_counter(backend: ThrottleBackend, first: str, second: str) -> None:
    throttle = make_throttle(backend)
    assert await count_admitted(throttle, first) == LIMIT
    assert await count_admitted(throttle, second) == LIMIT


@pytest.mark.parametrize("part", sorted({*SURROGATES.values(), *(p for pair in LOOKALIKES for p in pair)}), ids=ascii)
def test_every_escaped_component_is_valid_utf8(part: str) -> None:
    escaped = escape_component(part)
    assert escaped.encode("utf-8").decode("utf-8") == escaped


def test_escaping_is_injective_on_awkward_components() -> None:
    pieces = ["a", ":", "\\", "u", "d", "c", "f", "\udcff", "\ud800", "\U0001f600", "\ud83d"]
    components = {a + b + c for a in pieces for b in pieces for c in pieces}
    escaped = {escape_component(component) for component in components}
    assert len(escaped) == len(components)
    joined = {build_key(a, b) for a in pieces for b in pieces}
    assert len(joined) == len(pieces) ** 2


# -- the method component ------------------------------------------------------------------------------------

# (identity, method, path) triples whose keys would collide if the method were joined unescaped.
METHOD_SHIFTS = [
    (("a", "A\\", ":x"), ("a", "A\\:\\", "x")),
    (("a", "GET:/x", "/"), ("a", "GET", "/x:/")),
]


@pytest.mark.parametrize(("first", "second"), METHOD_SHIFTS, ids=["backslash", "colon"])
async def test_the_method_cannot_be_shifted_into_the_path(
    backend: ThrottleBackend, first: tuple[str, str, str], second: tuple[str, str, str]
) -> None:
    throttle = make_throttle(backend)
    identity, method, path = first
    assert await count_admitted(throttle, identity, method=method, path=path) == LIMIT
    identity, method, path = second
    assert await count_admitted(throttle, identity, method=method, path=path) == LIMIT


# -- HEAD is served by GET endpoints ---------------------------------------------------------------------------


async def test_head_and_get_share_one_quota(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend)
    assert await count_admitted(throttle, "client", attempts=LIMIT, method="GET") == LIMIT
    assert await count_admitted(throttle, "client", attempts=ATTEMPTS, method="HEAD") == 0


async def test_head_is_throttled_by_a_rule_that_names_get(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend, rules=[ThrottleRule(methods={"GET"})])
    assert await count_admitted(throttle, "client", method="HEAD") == LIMIT
    assert await count_admitted(throttle, "client", method="POST") == ATTEMPTS  # not named: never throttled


async def ok(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def app_with(*throttles: MiddlewareThrottle) -> Starlette:
    return Starlette(
        routes=[
            Route("/api/items/{item_id}", ok),
            Mount("/t/{tenant}", routes=[Route("/items", ok)]),
        ],
        middleware=[Middleware(ThrottleMiddleware, middleware_throttles=list(throttles))],
    )


async def statuses(app: Starlette, method: str, paths: list[str]) -> list[int]:
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return [(await client.request(method, path)).status_code for path in paths]


async def test_head_cannot_get_around_a_middleware_get_filter(backend: ThrottleBackend) -> None:
    throttle = HTTPThrottle("keys", rate=RATE, backend=backend, on_error="raise", registry=ThrottleRegistry())
    app = app_with(MiddlewareThrottle(throttle, methods=["GET"]))
    heads = await statuses(app, "HEAD", ["/api/items/1"] * ATTEMPTS)
    assert heads.count(200) == LIMIT
    assert await statuses(app, "GET", ["/api/items/1"]) == [429]


# -- middleware path patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "paths"),
    [
        ("/api/**", [f"/api/items/{n}" for n in range(ATTEMPTS)]),
        ("/t/**", [f"/t/tenant-{n}/items" for n in range(ATTEMPTS)]),
        (None, [f"/api/items/{n}" for n in range(ATTEMPTS)]),
    ],
    ids=["glob", "mount", "every-path"],
)
async def test_a_middleware_pattern_is_one_quota_whatever_the_concrete_path(
    backend: ThrottleBackend, pattern: str | None, paths: list[str]
) -> None:
    throttle = HTTPThrottle("keys", rate=RATE, backend=backend, on_error="raise", registry=ThrottleRegistry())
    app = app_with(MiddlewareThrottle(throttle, path=pattern))
    assert (await statuses(app, "GET", paths)).count(200) == LIMIT
