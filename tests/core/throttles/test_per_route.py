"""``per_route``: the keyword that says whether a throttle's quota is per route or shared across routes."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, WebSocketThrottle


def request(method: str, path: str) -> Request:
    return Request({"type": "http", "method": method, "path": path, "headers": [], "client": ("192.0.2.7", 1)})


async def admitted(throttle: HTTPThrottle, method: str, path: str) -> bool:
    try:
        await throttle.hit(request(method, path))
    except ConnectionThrottled:
        return False
    return True


def build(backend: InMemoryBackend, registry: ThrottleRegistry, **options: Any) -> HTTPThrottle:
    return HTTPThrottle("quota", rate="2/h", backend=backend, registry=registry, **options)


@pytest.mark.parametrize(
    "options",
    [{"per_route": False}, {"per_route": False, "use_method": True}, {"use_method": False}],
    ids=["per_route=False", "per_route=False+use_method=True", "use_method=False"],
)
async def test_shared_quota_across_routes(
    options: dict[str, Any], backend: InMemoryBackend, registry: ThrottleRegistry
) -> None:
    throttle = build(backend, registry, **options)
    assert throttle.per_route is False
    assert throttle.use_method is False
    assert await admitted(throttle, "GET", "/a")
    assert await admitted(throttle, "POST", "/b")
    assert not await admitted(throttle, "GET", "/c")  # the third hit anywhere is over the shared 2/h


@pytest.mark.parametrize("options", [{}, {"per_route": True}], ids=["default", "per_route=True"])
async def test_quota_per_route(options: dict[str, Any], backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    throttle = build(backend, registry, **options)
    assert throttle.per_route is True
    for _ in range(2):
        assert await admitted(throttle, "GET", "/a")
    assert not await admitted(throttle, "GET", "/a")
    assert await admitted(throttle, "GET", "/b")  # another route, its own quota
    assert await admitted(throttle, "POST", "/a")  # another method, its own quota


def test_per_route_true_contradicts_use_method_false(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match=r"HTTPThrottle\('quota'\): per_route=True contradicts use_method"):
        build(backend, registry, per_route=True, use_method=False)


@pytest.mark.parametrize("value", ["no", 0, 1, "global"])
def test_per_route_must_be_a_bool(value: object, backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match=rf"HTTPThrottle\('quota'\).*per_route.*{value!r}"):
        build(backend, registry, per_route=value)


def test_websocket_throttle_takes_per_route(backend: InMemoryBackend, registry: ThrottleRegistry) -> None:
    throttle = WebSocketThrottle("ws", rate="2/h", backend=backend, registry=registry, per_route=False)
    assert throttle.per_route is False
    with pytest.raises(ConfigurationError, match=r"WebSocketThrottle\('ws2'\).*per_route"):
        WebSocketThrottle("ws2", rate="2/h", backend=backend, registry=registry, per_route="yes")  # type: ignore[arg-type]  # the invalid value under test
