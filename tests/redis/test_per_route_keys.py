"""``per_route=False`` on Redis: one stored key per client, whatever the route (the key has no method nor path)."""

from __future__ import annotations

from redis.asyncio import Redis
from starlette.requests import Request
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle

from .conftest import BackendFactory


def _request(method: str, path: str) -> Request:
    return Request({"type": "http", "method": method, "path": path, "headers": [], "client": ("192.0.2.7", 1)})


def _text(key: bytes | str) -> str:
    return key.decode() if isinstance(key, bytes) else key


async def test_shared_quota_is_one_key_per_client(make_backend: BackendFactory, raw_redis: Redis) -> None:
    backend = make_backend()
    registry = ThrottleRegistry()
    # An hour-long window: the keys must still be there when the test reads them back.
    shared = HTTPThrottle("shared", rate="10/h", backend=backend, registry=registry, per_route=False)
    routed = HTTPThrottle("routed", rate="10/h", backend=backend, registry=registry)
    for method, path in (("GET", "/a"), ("POST", "/b"), ("GET", "/c")):
        await shared.hit(_request(method, path))
        await routed.hit(_request(method, path))
    keys = sorted(_text(key) for key in await raw_redis.keys(f"{backend.namespace}:*"))
    ns = backend.namespace
    assert keys == [
        f"{ns}:{{routed:192.0.2.7:GET:/a}}:fixed-window",
        f"{ns}:{{routed:192.0.2.7:GET:/c}}:fixed-window",
        f"{ns}:{{routed:192.0.2.7:POST:/b}}:fixed-window",
        f"{ns}:{{shared:192.0.2.7}}:fixed-window",
    ]
    stat = await shared.stat(_request("DELETE", "/anywhere"))
    assert stat is not None
    assert stat.hits_remaining == 7  # three hits on three routes, one quota
