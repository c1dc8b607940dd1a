"""ThrottleRegistry: weak references, rules, group switches; rules from registry and constructor both count."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.registry import GLOBAL_REGISTRY, BypassThrottleRule, ThrottleRegistry, ThrottleRule


@pytest.fixture
def registry() -> ThrottleRegistry:
    return ThrottleRegistry()


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend(clock=ManualClock(0.0), cleanup_frequency=None)


def req(path: str = "/a", method: str = "GET") -> Request:
    return Request({"type": "http", "method": method, "path": path, "headers": [], "client": ("1.2.3.4", 1)})


def test_global_registry_is_a_registry() -> None:
    assert isinstance(GLOBAL_REGISTRY, ThrottleRegistry)


def test_exist_and_get_throttle(registry: ThrottleRegistry) -> None:
    throttle = HTTPThrottle("t", rate="1/s", registry=registry)
    assert registry.exist("t")
    assert not registry.exist("nope")
    assert registry.get_throttle("t") is throttle
    assert registry.get_throttle("nope") is None


def test_throttles_are_held_weakly(registry: ThrottleRegistry) -> None:
    HTTPThrottle("gone", rate="1/s", registry=registry)
    gc.collect()
    assert registry.get_throttle("gone") is None
    assert not registry.exist("gone")
    assert HTTPThrottle("gone", rate="1/s", registry=registry).uid == "gone"  # the uid is free again


def test_add_rules_requires_a_registered_uid(registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match="'missing'"):
        registry.add_rules("missing", ThrottleRule())
    throttle = HTTPThrottle("t", rate="1/s", registry=registry)
    with pytest.raises(ConfigurationError, match="ThrottleRule"):
        registry.add_rules("t", "rule")  # type: ignore[arg-type]
    first, second = ThrottleRule(path="/a"), BypassThrottleRule(path="/b")
    registry.add_rules("t", first)
    registry.add_rules("t", second)
    assert registry.get_rules("t") == (first, second)
    assert registry.get_rules("other") == ()
    assert throttle.uid == "t"


async def test_registry_and_constructor_rules_both_count(registry: ThrottleRegistry, backend: InMemoryBackend) -> None:
    throttle = HTTPThrottle(
        "t", rate="1/min", rules=[ThrottleRule(methods={"POST"})], backend=backend, registry=registry
    )
    registry.add_rules("t", BypassThrottleRule(path="/free"))
    for _ in range(3):
        await throttle.hit(req("/a", "GET"))  # constructor rule: only POST
        await throttle.hit(req("/free", "POST"))  # registry bypass
    await throttle.hit(req("/a", "POST"))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(req("/a", "POST"))


async def test_rules_are_cached_at_first_hit_unless_dynamic(
    registry: ThrottleRegistry, backend: InMemoryBackend
) -> None:
    static = HTTPThrottle("static", rate="1/min", backend=backend, registry=registry)
    dynamic = HTTPThrottle("dynamic", rate="1/min", backend=backend, registry=registry, dynamic_rules=True)
    await static.hit(req("/x"))
    await dynamic.hit(req("/x"))
    registry.add_rules("static", BypassThrottleRule(path="/x"))
    registry.add_rules("dynamic", BypassThrottleRule(path="/x"))
    with pytest.raises(ConnectionThrottled):
        await static.hit(req("/x"))  # rules were read at its first hit
    await dynamic.hit(req("/x"))  # re-read: now bypassed


async def test_disable_and_enable_by_uid(registry: ThrottleRegistry, backend: InMemoryBackend) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    states = [await registry.disable("t"), throttle.is_disabled, await registry.disable("missing")]
    states += [await registry.enable("t"), throttle.is_disabled]
    assert states == [True, True, False, True, False]
    assert await registry.enable("missing") is False


async def test_disable_all_and_enable_all(registry: ThrottleRegistry) -> None:
    throttles = [HTTPThrottle(f"t{i}", rate="1/s", registry=registry) for i in range(3)]
    await registry.disable_all()
    assert all(t.is_disabled for t in throttles)
    await registry.enable_all()
    assert not any(t.is_disabled for t in throttles)


def test_clear_forgets_everything(registry: ThrottleRegistry) -> None:
    throttle = HTTPThrottle("t", rate="1/s", registry=registry)
    registry.add_rules("t", ThrottleRule())
    registry.clear()
    assert not registry.exist("t")
    assert registry.get_rules("t") == ()
    assert registry.get_throttle("t") is None
    assert throttle.uid == "t"


def test_duplicate_uid_error_names_the_uid(registry: ThrottleRegistry) -> None:
    keep = HTTPThrottle("same", rate="1/s", registry=registry)
    with pytest.raises(ConfigurationError, match="'same'"):
        HTTPThrottle("same", rate="1/s", registry=registry)
    assert keep.uid == "same"


def test_unreachable_cycle_does_not_block_a_uid(registry: ThrottleRegistry) -> None:
    holder: dict[str, Any] = {}
    holder["self"] = holder
    holder["throttle"] = HTTPThrottle("cyclic", rate="1/s", registry=registry)
    del holder
    assert HTTPThrottle("cyclic", rate="1/s", registry=registry).uid == "cyclic"
