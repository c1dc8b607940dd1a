"""No combination of throttle uid, client identity, path and namespace can reach another's counter."""

from __future__ import annotations

import itertools

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.inmemory import InMemoryBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.exceptions import ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.testing import MemcachedServer, RedisServer

LIMIT = 2


def request_from(identity: str, path: str = "/") -> Request:
    return Request({"type": "http", "method": "GET", "path": path, "headers": [], "identity": identity})


def identity_of(connection: Request) -> str:
    identity: str = connection.scope["identity"]
    return identity


def make_throttle(uid: str, backend: ThrottleBackend, use_method: bool = True) -> HTTPThrottle:
    return HTTPThrottle(
        uid,
        rate=f"{LIMIT}/min",
        backend=backend,
        identifier=identity_of,
        on_error="raise",
        use_method=use_method,
        registry=ThrottleRegistry(),
    )


async def exhaust(throttle: HTTPThrottle, identity: str, path: str = "/") -> None:
    for _ in range(LIMIT):
        await throttle.hit(request_from(identity, path))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request_from(identity, path))


async def fresh(throttle: HTTPThrottle, identity: str, path: str = "/") -> bool:
    try:
        await throttle.hit(request_from(identity, path))
    except ConnectionThrottled:
        return False
    return True


# (uid, identity) pairs whose naive "uid:identity" joins are equal.
SHIFTED = [
    (("a:b", "c"), ("a", "b:c")),
    (("a", "b:c"), ("a:b", "c")),
    (("a\\", ":c"), ("a", "\\:c")),
    (("{a}", "b"), ("{a", "}b")),
    (("a*", "b"), ("a", "*b")),
    (("a:GET:/x", "b"), ("a", "GET:/x:b")),
]


@pytest.mark.parametrize(("first", "second"), SHIFTED, ids=[f"{a[0]}|{a[1]}" for a, _ in SHIFTED])
@pytest.mark.parametrize("use_method", [True, False], ids=["per-route", "shared"])
async def test_uid_and_identity_never_collide(
    backend: ThrottleBackend, first: tuple[str, str], second: tuple[str, str], use_method: bool
) -> None:
    one = make_throttle(first[0], backend, use_method)
    other = make_throttle(second[0], backend, use_method)
    await exhaust(one, first[1])
    assert await fresh(other, second[1])


@pytest.mark.parametrize(
    ("first", "second"),
    [(("a:b", "/c"), ("a", "/b:/c")), (("a", "/x"), ("a:GET:/x", "/")), (("", "/a:b"), (":/a", "b"))],
)
async def test_identity_and_path_never_collide(
    backend: ThrottleBackend, first: tuple[str, str], second: tuple[str, str]
) -> None:
    throttle = make_throttle("paths", backend)
    await exhaust(throttle, *first)
    assert await fresh(throttle, *second)


NAMESPACE_PAIRS = [("a:b", "a"), ("a", "a:b"), ("a*", "ab"), ("{a}", "a"), ("a\\", "a\\\\"), ("ns", "ns:lock")]


@pytest.mark.parametrize("kind", ["inmemory", "redis", "memcached"])
@pytest.mark.parametrize(("ns_one", "ns_two"), NAMESPACE_PAIRS)
async def test_namespaces_never_collide_and_clear_only_their_own(
    kind: str, ns_one: str, ns_two: str, request: pytest.FixtureRequest
) -> None:
    def build(namespace: str) -> ThrottleBackend:
        if kind == "inmemory":
            # One process-wide store would be needed for a collision; two instances share nothing anyway.
            return InMemoryBackend(namespace, cleanup_frequency=None)
        if kind == "redis":
            server: RedisServer = request.getfixturevalue("redis_server")
            return RedisBackend(server.url, namespace=f"sec-{namespace}")
        servers: tuple[MemcachedServer, ...] = request.getfixturevalue("memcached_servers")
        return MemcachedBackend([s.address for s in servers], namespace=f"sec-{namespace}")

    one, two = build(ns_one), build(ns_two)
    await one.initialize()
    await two.initialize()
    try:
        await one.clear()
        await two.clear()
        # Shift the uid so that "<ns>:<uid>" is the same text in both namespaces.
        suffix = ns_two[len(ns_one) :] if ns_two.startswith(ns_one) else ""
        uid_one = f"{suffix}:u" if suffix else "u"
        throttle_one = make_throttle(uid_one.lstrip(":") or "u", one)
        throttle_two = make_throttle("u", two)
        await exhaust(throttle_one, "client")
        assert await fresh(throttle_two, "client")
        assert await fresh(throttle_two, "client")
        assert not await fresh(throttle_two, "client")  # namespace two's own quota, now spent
        await one.clear()
        assert await fresh(throttle_one, "client")  # cleared its own namespace...
        assert not await fresh(throttle_two, "client")  # ...and nothing of the other one
    finally:
        await one.clear()
        await two.clear()
        await one.close()
        await two.close()


async def test_many_random_combinations_stay_apart(backend: ThrottleBackend) -> None:
    pieces = ["a", ":", "b", "\\", "{", "}", "*"]
    seen: set[tuple[str, str]] = set()
    throttles: dict[str, HTTPThrottle] = {}
    for uid_parts, id_parts in itertools.product(
        itertools.product(pieces, repeat=2), itertools.product(pieces, repeat=2)
    ):
        uid, identity = "".join(uid_parts), "".join(id_parts)
        if (uid, identity) in seen:
            continue
        seen.add((uid, identity))
        throttle = throttles.get(uid) or throttles.setdefault(uid, make_throttle(uid, backend))
        # One hit each: any collision would make some pair's second hit (below) the third on a key.
        await throttle.hit(request_from(identity))
    for uid, identity in seen:
        assert await fresh(throttles[uid], identity), (uid, identity)
