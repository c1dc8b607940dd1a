"""Awkward identities work on every backend, each with its own quota."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConnectionThrottled
from traffik.registry import ThrottleRegistry

IDENTITIES = {
    "empty": "",
    "huge": "x" * 100_000,
    "huge-unicode": "🚦" * 5_000,
    "newline": "a\r\nb",
    "nul": "a\x00b",
    "unicode": "ünïcødé-客户-🚦",
    "colon": "a:b",
    "colons": "::",
    "star": "*",
    "glob": "a*b?[c]",
    "open-brace": "{",
    "close-brace": "}",
    "hash-tag": "{a}:b",
    "backslash": "a\\:b",
    "space": "a b",
    "control": "\x01\x7f\x1b[0m",
}
LIMIT = 2


def request_from(identity: str, path: str = "/") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "identity": identity})


def identity_of(connection: Request) -> str:
    identity: str = connection.scope["identity"]
    return identity


async def admitted(throttle: HTTPThrottle, identity: str, path: str = "/") -> bool:
    try:
        await throttle.hit(request_from(identity, path))
    except ConnectionThrottled:
        return False
    return True


def make_throttle(backend: ThrottleBackend, uid: str = "ids") -> HTTPThrottle:
    return HTTPThrottle(
        uid,
        rate=f"{LIMIT}/min",
        backend=backend,
        identifier=identity_of,
        on_error="raise",  # a backend error must fail the test, not be hidden by a policy
        registry=ThrottleRegistry(),
    )


@pytest.mark.parametrize("name", list(IDENTITIES))
async def test_an_awkward_identity_gets_exactly_its_quota(backend: ThrottleBackend, name: str) -> None:
    throttle = make_throttle(backend)
    identity = IDENTITIES[name]
    assert [await admitted(throttle, identity) for _ in range(LIMIT + 1)] == [True] * LIMIT + [False]


async def test_awkward_identities_never_share_a_counter(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend)
    for identity in IDENTITIES.values():
        for _ in range(LIMIT):
            assert await admitted(throttle, identity)
    # Every identity is now spent; none spent another's quota.
    for identity in IDENTITIES.values():
        assert not await admitted(throttle, identity)
    assert await admitted(throttle, "fresh")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("a:b", "/"), ("a", "b:/")),
        (("a", "/x:GET:/y"), ("a:GET:/x", "/y")),
        (("}", "/"), ("{", "/")),
        (("a\x00", "/"), ("a", "/")),
        (("*", "/"), ("a", "/")),
    ],
    ids=["identity-vs-path", "method-injection", "braces", "nul-suffix", "star-glob"],
)
async def test_identity_and_path_cannot_be_shifted_into_each_other(
    backend: ThrottleBackend, first: tuple[str, str], second: tuple[str, str]
) -> None:
    throttle = make_throttle(backend)
    for _ in range(LIMIT):
        assert await admitted(throttle, *first)
    assert not await admitted(throttle, *first)
    assert await admitted(throttle, *second)
