"""Import paths from the API reference."""

from __future__ import annotations


def test_top_level_exports() -> None:
    import traffik
    from traffik import EXEMPTED, HTTPThrottle, Rate, RequestThrottle, WebSocketThrottle, get_remote_address

    assert RequestThrottle is HTTPThrottle
    assert {"EXEMPTED", "HTTPThrottle", "Rate", "RequestThrottle", "WebSocketThrottle", "get_remote_address"} <= set(
        traffik.__all__
    )
    assert EXEMPTED is traffik.types.EXEMPTED
    assert Rate is traffik.rates.Rate
    assert issubclass(WebSocketThrottle, traffik.throttles.BaseThrottle)
    assert get_remote_address is traffik.identifiers.get_remote_address


def test_module_exports() -> None:
    from starlette.exceptions import HTTPException
    from traffik.exceptions import ConfigurationError, ConnectionThrottled
    from traffik.headers import DEFAULT_HEADERS_ALWAYS, DEFAULT_HEADERS_THROTTLED, Header, Headers
    from traffik.middleware import MiddlewareThrottle, ThrottleMiddleware
    from traffik.registry import GLOBAL_REGISTRY, BypassThrottleRule, ThrottleRegistry, ThrottleRule
    from traffik.throttles import HTTPThrottle, WebSocketThrottle, throttled
    from traffik.throttles import MiddlewareThrottle as FromThrottles
    from traffik.types import StrategyStat

    assert issubclass(ConnectionThrottled, HTTPException)
    assert issubclass(ConfigurationError, ValueError)
    assert MiddlewareThrottle is FromThrottles
    assert isinstance(GLOBAL_REGISTRY, ThrottleRegistry)
    assert issubclass(BypassThrottleRule, ThrottleRule)
    assert isinstance(DEFAULT_HEADERS_ALWAYS, Headers)
    assert isinstance(DEFAULT_HEADERS_THROTTLED, Headers)
    assert repr(Header.DISABLE) == "Header.DISABLE"
    assert ThrottleMiddleware.__module__ == "traffik.middleware"
    assert {HTTPThrottle.__name__, WebSocketThrottle.__name__} == {"HTTPThrottle", "WebSocketThrottle"}
    assert callable(throttled)
    assert StrategyStat.__module__ == "traffik.types"
