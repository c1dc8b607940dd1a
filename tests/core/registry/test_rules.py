"""ThrottleRule / BypassThrottleRule: path AND methods AND predicate."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import HTTPConnection, Request
from traffik.exceptions import ConfigurationError
from traffik.registry import BypassThrottleRule, ThrottleRule


def http(path: str = "/api/users", method: str = "GET", **headers: str) -> Request:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "method": method, "path": path, "headers": raw, "client": ("1.2.3.4", 1)})


def websocket(path: str = "/ws") -> HTTPConnection:
    return HTTPConnection({"type": "websocket", "path": path, "headers": [], "client": ("1.2.3.4", 1)})


async def test_empty_rule_matches_everything() -> None:
    rule = ThrottleRule()
    assert await rule.matches(http())
    assert await rule.matches(websocket())


async def test_methods_are_case_insensitive() -> None:
    rule = ThrottleRule(methods={"post", "Put"})
    assert rule.methods == frozenset({"POST", "PUT"})
    assert await rule.matches(http(method="POST"))
    assert not await rule.matches(http(method="GET"))


async def test_methods_filter_ignores_websockets_unless_named() -> None:
    assert not await ThrottleRule(methods={"GET"}).matches(websocket())
    assert await ThrottleRule(methods={"GET", "websocket"}).matches(websocket())
    assert await ThrottleRule(path="/ws").matches(websocket())


async def test_conditions_are_anded() -> None:
    rule = ThrottleRule(path="/api/*", methods={"POST"}, predicate=lambda c: c.headers.get("x-tier") == "free")
    assert await rule.matches(http(path="/api/x", method="POST", **{"x-tier": "free"}))
    assert not await rule.matches(http(path="/api/x", method="POST", **{"x-tier": "paid"}))
    assert not await rule.matches(http(path="/api/x", method="GET", **{"x-tier": "free"}))
    assert not await rule.matches(http(path="/other", method="POST", **{"x-tier": "free"}))


async def test_predicates_with_and_without_context() -> None:
    seen: list[Any] = []

    async def one_arg(connection: HTTPConnection) -> bool:
        seen.append("one")
        return True

    async def two_args(connection: HTTPConnection, context: Any) -> bool:
        seen.append(context)
        return bool(context and context.get("on"))

    assert await ThrottleRule(predicate=one_arg).matches(http(), {"on": True})
    assert await ThrottleRule(predicate=two_args).matches(http(), {"on": True})
    assert not await ThrottleRule(predicate=two_args).matches(http(), {"on": False})
    assert seen == ["one", {"on": True}, {"on": False}]


async def test_bypass_rule_has_the_same_matching() -> None:
    rule = BypassThrottleRule(path="/health")
    assert rule.bypass is True
    assert ThrottleRule().bypass is False
    assert await rule.matches(http(path="/health"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"path": "/a/***"},
        {"path": ""},
        {"methods": [1]},
        {"methods": 5},
        {"predicate": "yes"},
        {"predicate": lambda: True},
    ],
)
def test_invalid_rules(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        ThrottleRule(**kwargs)
