"""Bad configuration fails at construction, naming the throttle uid, the parameter and the value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from traffik import HTTPThrottle, Rate, RequestThrottle, WebSocketThrottle
from traffik.exceptions import ConfigurationError
from traffik.registry import GLOBAL_REGISTRY, ThrottleRegistry, ThrottleRule
from traffik.strategies import FixedWindow


def test_request_throttle_is_http_throttle() -> None:
    assert RequestThrottle is HTTPThrottle


@pytest.mark.parametrize(
    ("kwargs", "parameter", "value"),
    [
        ({"rate": "1.5/s"}, "rate", "'1.5/s'"),
        ({"rate": "5/week"}, "rate", "'5/week'"),
        ({"rate": 12}, "rate", "12"),
        ({"rate": "1/s", "cost": -1}, "cost", "-1"),
        ({"rate": "1/s", "cost": "2"}, "cost", "'2'"),
        ({"rate": "1/s", "cost": True}, "cost", "True"),
        ({"rate": "1/s", "on_error": "ignore"}, "on_error", "'ignore'"),
        ({"rate": "1/s", "identifier": "client-ip"}, "identifier", "'client-ip'"),
        ({"rate": "1/s", "handle_throttled": 3}, "handle_throttled", "3"),
        ({"rate": "1/s", "min_wait_period": -5}, "min_wait_period", "-5"),
        ({"rate": "1/s", "min_wait_period": "1s"}, "min_wait_period", "'1s'"),
        ({"rate": "1/s", "backend": "redis://x"}, "backend", "'redis://x'"),
        ({"rate": "1/s", "strategy": "fixed"}, "strategy", "'fixed'"),
        ({"rate": "1/s", "strategy": FixedWindow}, "strategy", "class"),
        ({"rate": "1/s", "headers": ["X-RateLimit-Limit"]}, "headers", "['X-RateLimit-Limit']"),
        ({"rate": "1/s", "rules": [object()]}, "rules", "object"),
        ({"rate": "1/s", "context": 3}, "context", "3"),
        ({"rate": "1/s", "use_method": "yes"}, "use_method", "'yes'"),
        ({"rate": "1/s", "registry": {}}, "registry", "{}"),
    ],
)
def test_invalid_argument_names_uid_parameter_and_value(
    registry: ThrottleRegistry, kwargs: dict[str, Any], parameter: str, value: str
) -> None:
    kwargs.setdefault("registry", registry)
    with pytest.raises(ConfigurationError) as info:
        HTTPThrottle("bad-uid", **kwargs)
    message = str(info.value)
    assert "bad-uid" in message
    assert parameter in message
    assert value in message


def test_invalid_uid(registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match="uid"):
        HTTPThrottle("", rate="1/s", registry=registry)


def test_configuration_error_is_a_value_error(registry: ThrottleRegistry) -> None:
    with pytest.raises(ValueError, match=re.escape("'nope'")):
        HTTPThrottle("x", rate="nope", registry=registry)


def test_rate_forms_are_normalised_once(registry: ThrottleRegistry) -> None:
    assert HTTPThrottle("s", rate="3/5s", registry=registry).rate == Rate(limit=3, seconds=5)
    assert HTTPThrottle("r", rate=Rate(limit=2, minutes=1), registry=registry).rate == Rate.parse("2/min")

    async def dynamic(connection: object, context: object) -> Rate:
        return Rate.parse("1/s")

    assert HTTPThrottle("c", rate=dynamic, registry=registry).rate is None


def test_duplicate_uid_in_one_registry_is_rejected(registry: ThrottleRegistry) -> None:
    first = HTTPThrottle("dup", rate="1/s", registry=registry)
    with pytest.raises(ConfigurationError, match="'dup'"):
        HTTPThrottle("dup", rate="2/s", registry=registry)
    assert registry.get_throttle("dup") is first


def test_same_uid_in_two_registries_is_fine(registry: ThrottleRegistry) -> None:
    HTTPThrottle("shared-uid", rate="1/s", registry=registry)
    other = ThrottleRegistry()
    assert HTTPThrottle("shared-uid", rate="1/s", registry=other).uid == "shared-uid"


def test_default_registry_is_global() -> None:
    throttle = HTTPThrottle("test-construction:global", rate="1/s")
    try:
        assert throttle.registry is GLOBAL_REGISTRY
        assert GLOBAL_REGISTRY.get_throttle("test-construction:global") is throttle
    finally:
        GLOBAL_REGISTRY.unregister("test-construction:global")


def test_websocket_throttle_validates_the_same_way(registry: ThrottleRegistry) -> None:
    with pytest.raises(ConfigurationError, match=r"WebSocketThrottle\('ws'\).*cost.*-2"):
        WebSocketThrottle("ws", rate="1/s", cost=-2, registry=registry)


def test_rules_accept_throttle_rules(registry: ThrottleRegistry) -> None:
    throttle = HTTPThrottle("ruled", rate="1/s", rules=[ThrottleRule(path="/a")], registry=registry)
    assert throttle.uid == "ruled"


def test_repr_names_uid_and_rate(registry: ThrottleRegistry) -> None:
    assert repr(HTTPThrottle("shown", rate="1/s", registry=registry)) == (
        "HTTPThrottle(uid='shown', rate=Rate(limit=1, milliseconds=1000))"
    )
