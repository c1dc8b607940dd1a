"""Throttle contract: what ``HTTPThrottle`` promises on every backend.

Each test runs once per registered backend, drives the throttle with
requests built from an ASGI scope, and moves a manual clock instead of sleeping.
"""

from __future__ import annotations

from typing import Any

import pytest
from traffik import EXEMPTED, HTTPThrottle, Rate
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.registry import BypassThrottleRule, ThrottleRegistry, ThrottleRule
from traffik.strategies import TokenBucket
from traffik.testing.spec._backends import BackendFactory
from traffik.testing.spec._connections import make_request
from traffik.types import StrategyStat

pytestmark = pytest.mark.asyncio


def _throttle(backend_factory: BackendFactory, rate: str = "3/min", **options: Any) -> HTTPThrottle:
    options.setdefault("registry", ThrottleRegistry())
    options.setdefault("backend", backend_factory())
    return HTTPThrottle("spec:throttle", rate=rate, **options)


def _disabled(throttle: HTTPThrottle) -> bool:
    # A call, so mypy does not narrow the property across awaits that change it.
    return throttle.is_disabled


async def _passes(throttle: HTTPThrottle, path: str = "/items", client: str = "203.0.113.7") -> bool:
    try:
        await throttle.hit(make_request(path, client=client))
    except ConnectionThrottled:
        return False
    return True


async def test_hit_throttles_over_the_limit(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[hit]: returns the request on success; raises ``ConnectionThrottled`` over the limit."""
    throttle = _throttle(traffik_backend)
    request = make_request()
    for _ in range(3):
        assert await throttle.hit(request) is request
    with pytest.raises(ConnectionThrottled) as raised:
        await throttle.hit(request)
    assert raised.value.status_code == 429


async def test_clients_have_separate_quotas(traffik_backend: BackendFactory) -> None:
    """get_remote_address: the default identifier keys quotas by client address."""
    throttle = _throttle(traffik_backend, rate="1/min")
    assert await _passes(throttle, client="198.51.100.1")
    assert not await _passes(throttle, client="198.51.100.1")
    assert await _passes(throttle, client="198.51.100.2")


async def test_exempted_clients_consume_nothing(traffik_backend: BackendFactory) -> None:
    """EXEMPTED: returned by the identifier, it skips throttling; no quota is consumed."""

    async def identifier(request: Any) -> Any:
        return EXEMPTED if request.headers.get("x-admin-key") == "secret" else request.client.host

    throttle = _throttle(traffik_backend, rate="1/min", identifier=identifier)
    admin = make_request(headers=[("x-admin-key", "secret")])
    for _ in range(5):
        await throttle.hit(admin)
    assert await throttle.stat(admin) is None
    assert await _passes(throttle)


async def test_check_does_not_consume(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[check]: checks quota without consuming it; ``True`` if the request would pass."""
    throttle = _throttle(traffik_backend, rate="2/min")
    request = make_request()
    for _ in range(5):
        assert await throttle.check(request) is True
    await throttle.hit(request)
    await throttle.hit(request)
    assert await throttle.check(request) is False


async def test_stat_fields(traffik_backend: BackendFactory) -> None:
    """StrategyStat.attr[*]: ``stat()`` returns the key, the rate, hits remaining and the wait, consuming nothing."""
    throttle = _throttle(traffik_backend, rate="3/min")
    request = make_request()
    await throttle.hit(request)
    stat = await throttle.stat(request)
    assert isinstance(stat, StrategyStat)
    assert stat.rate == Rate.parse("3/min")
    assert stat.hits_remaining == 2
    assert stat.wait_ms == 0
    assert str(stat.key)
    assert (await throttle.stat(request)) == stat
    await throttle.hit(request)
    await throttle.hit(request)
    exhausted = await throttle.stat(request)
    assert exhausted is not None
    assert exhausted.hits_remaining == 0
    assert exhausted.wait_ms > 0


async def test_quota_returns_after_the_wait(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[stat]: ``wait_ms`` is the time until the client may pass again."""
    throttle = _throttle(traffik_backend, rate="1/min")
    assert await _passes(throttle)
    stat = await throttle.stat(make_request())
    assert stat is not None
    assert not await _passes(throttle)
    clock = traffik_backend.clock
    assert hasattr(clock, "advance")
    clock.advance(stat.wait_ms)
    assert await _passes(throttle)


async def test_disable_and_enable(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[disable]/[enable]/[is_disabled]: a disabled throttle lets every hit through."""
    throttle = _throttle(traffik_backend, rate="1/min")
    await throttle.disable()
    assert _disabled(throttle)
    assert all([await _passes(throttle) for _ in range(3)])
    await throttle.enable()
    assert not _disabled(throttle)
    assert await _passes(throttle)
    assert not await _passes(throttle)


async def test_registry_disable_and_enable(traffik_backend: BackendFactory) -> None:
    """ThrottleRegistry.method[disable]/[enable]: switch a throttle by uid; ``True`` if found."""
    registry = ThrottleRegistry()
    throttle = _throttle(traffik_backend, rate="1/min", registry=registry)
    assert registry.exist("spec:throttle")
    assert await registry.disable("spec:throttle") is True
    assert _disabled(throttle)
    assert await registry.enable("spec:throttle") is True
    assert not _disabled(throttle)
    assert await registry.disable("spec:missing") is False


async def test_update_rate(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[update_rate]: the new rate applies from the next hit."""
    throttle = _throttle(traffik_backend, rate="10/min")
    await throttle.update_rate("1/min")
    assert await _passes(throttle)
    assert not await _passes(throttle)


async def test_update_cost(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[update_cost]: the new cost applies from the next hit."""
    throttle = _throttle(traffik_backend, rate="4/min")
    await throttle.update_cost(3)
    assert await _passes(throttle)
    assert not await _passes(throttle)


async def test_cost_zero_skips(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[hit]: ``hit(request, cost=0)`` consumes nothing."""
    throttle = _throttle(traffik_backend, rate="1/min")
    request = make_request()
    for _ in range(3):
        await throttle.hit(request, cost=0)
    assert await _passes(throttle)


async def test_update_strategy(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[update_strategy]: the throttle keeps enforcing its rate with the new strategy."""
    throttle = _throttle(traffik_backend, rate="2/min")
    await throttle.update_strategy(TokenBucket())
    assert await _passes(throttle)
    assert await _passes(throttle)
    assert not await _passes(throttle)


async def test_update_identifier(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.method[update_identifier]: the new identifier decides the key from the next hit."""
    throttle = _throttle(traffik_backend, rate="1/min")

    async def everyone(request: Any) -> str:
        return "everyone"

    await throttle.update_identifier(everyone)
    assert await _passes(throttle, client="198.51.100.1")
    assert not await _passes(throttle, client="198.51.100.2")


@pytest.mark.parametrize(("policy", "passes"), [("allow", True), ("throttle", False)])
async def test_on_error_policies(traffik_backend: BackendFactory, policy: str, passes: bool) -> None:
    """HTTPThrottle.param[on_error]: on a backend error ``"allow"`` passes the request, ``"throttle"`` rejects it."""
    backend = traffik_backend()
    throttle = _throttle(traffik_backend, on_error=policy, backend=backend)
    _break(backend)
    assert await _passes(throttle) is passes


async def test_on_error_raise(traffik_backend: BackendFactory) -> None:
    """HTTPThrottle.param[on_error]: ``"raise"`` re-raises the backend's error."""
    backend = traffik_backend()
    throttle = _throttle(traffik_backend, on_error="raise", backend=backend)
    _break(backend)
    with pytest.raises(_BackendDown):
        await throttle.hit(make_request())


class _BackendDown(RuntimeError):
    pass


def _break(backend: ThrottleBackend) -> None:
    """Make ``backend`` fail every hit (fault injection on this instance only)."""

    async def fail(*args: object, **kwargs: object) -> Any:
        raise _BackendDown("backend down")

    backend.hit = fail  # type: ignore[method-assign]  # fault injection on one instance
    backend.peek = fail  # type: ignore[method-assign]  # fault injection on one instance


async def test_rules_gate_by_path(traffik_backend: BackendFactory) -> None:
    """ThrottleRule.param[path]: the throttle fires only where all its rules match."""
    throttle = _throttle(traffik_backend, rate="1/min", rules=[ThrottleRule(path="/api/*")])
    assert await _passes(throttle, path="/api/items")
    assert not await _passes(throttle, path="/api/items")
    assert all([await _passes(throttle, path="/public") for _ in range(3)])


async def test_bypass_rule_skips(traffik_backend: BackendFactory) -> None:
    """BypassThrottleRule: when all its conditions match, the throttle is bypassed for that request."""
    throttle = _throttle(traffik_backend, rate="1/min", rules=[BypassThrottleRule(path="/health")])
    assert all([await _passes(throttle, path="/health") for _ in range(3)])
    assert await _passes(throttle, path="/items")
    assert not await _passes(throttle, path="/items")


async def test_registry_rules_gate(traffik_backend: BackendFactory) -> None:
    """ThrottleRegistry.method[add_rules]: rules attached through the registry gate the throttle too."""
    registry = ThrottleRegistry()
    throttle = _throttle(traffik_backend, rate="1/min", registry=registry, dynamic_rules=True)
    registry.add_rules("spec:throttle", ThrottleRule(methods={"POST"}))
    assert list(registry.get_rules("spec:throttle"))
    try:
        await throttle.hit(make_request(method="GET"))
        await throttle.hit(make_request(method="GET"))
    except ConnectionThrottled:
        pytest.fail("a GET was throttled by a throttle whose rule only matches POST")
    await throttle.hit(make_request(method="POST"))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(method="POST"))


async def test_headers_from_the_same_stat(traffik_backend: BackendFactory) -> None:
    """Header.header[*] / DEFAULT_HEADERS_ALWAYS: ``get_headers`` resolves the documented header names."""
    throttle = _throttle(traffik_backend, rate="3/min", headers=DEFAULT_HEADERS_ALWAYS)
    request = make_request()
    await throttle.hit(request)
    headers = await throttle.get_headers(request)
    assert headers["X-RateLimit-Limit"] == "3"
    assert headers["X-RateLimit-Remaining"] == "2"
    assert "Retry-After" in headers
