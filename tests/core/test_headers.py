"""Header, the builders, Headers (| and copy), presets, DISABLE, and get_headers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle, Rate
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.headers import (
    DEFAULT_HEADERS_ALWAYS,
    DEFAULT_HEADERS_THROTTLED,
    DRAFT_RATELIMIT_HEADERS,
    Header,
    Headers,
)
from traffik.registry import ThrottleRegistry
from traffik.types import StrategyStat

REQUEST = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("1.2.3.4", 1)})


def stat(remaining: float = 3, wait_ms: float = 0.0, rate: str = "5/min") -> StrategyStat:
    return StrategyStat("k", Rate.parse(rate), remaining, wait_ms)


def test_header_defaults_to_throttled() -> None:
    header = Header("v")
    assert header.when == "throttled"
    assert not header.applies(REQUEST, stat(), {}, throttled=False)
    assert header.applies(REQUEST, stat(), {}, throttled=True)
    assert header.resolve(REQUEST, stat(), {}) == "v"


def test_always_and_callable_conditions() -> None:
    assert Header("v", when="always").applies(REQUEST, stat(), {}, throttled=False)
    custom = Header("v", when=lambda connection, s, context: s.hits_remaining < 2)
    assert custom.applies(REQUEST, stat(remaining=1), {}, throttled=False)
    assert not custom.applies(REQUEST, stat(remaining=4), {}, throttled=True)


def test_resolver_gets_connection_stat_and_context() -> None:
    header = Header(lambda connection, s, context: f"{connection.url.path}|{s.key}|{context['x']}", when="always")
    assert header.resolve(REQUEST, stat(), {"x": 1}) == "/|k|1"


@pytest.mark.parametrize(
    ("builder", "s", "expected"),
    [
        (Header.LIMIT, stat(rate="5/min"), "5"),
        (Header.REMAINING, stat(remaining=2.7), "2"),
        (Header.REMAINING, stat(remaining=-1), "0"),
        (Header.REMAINING, stat(remaining=math.inf), "5"),
        (Header.RESET_SECONDS, stat(wait_ms=1_200), "2"),
        (Header.RESET_SECONDS, stat(wait_ms=0), "0"),
        (Header.RESET_MILLISECONDS, stat(wait_ms=1_200.2), "1201"),
    ],
)
def test_builders(builder: Any, s: StrategyStat, expected: str) -> None:
    assert builder(when="always").resolve(REQUEST, s, {}) == expected


@pytest.mark.parametrize("builder", [Header.LIMIT, Header.REMAINING, Header.RESET_SECONDS, Header.RESET_MILLISECONDS])
def test_builders_need_when(builder: Any) -> None:
    with pytest.raises(TypeError):
        builder()
    with pytest.raises(ConfigurationError, match="'sometimes'"):
        builder(when="sometimes")
    assert builder(when="throttled").when == "throttled"


def test_invalid_header() -> None:
    with pytest.raises(ConfigurationError, match="v must"):
        Header(3)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="'never'"):
        Header("x", when="never")  # type: ignore[arg-type]


def test_ietf_draft_fields() -> None:
    s = stat(remaining=3, wait_ms=2_500, rate="10/min")
    assert Header.RATELIMIT(when="always").resolve(REQUEST, s, {}) == '"default";r=3;t=3'
    assert Header.RATELIMIT_POLICY(when="always").resolve(REQUEST, s, {}) == '"default";q=10;w=60'
    assert Header.RATELIMIT(when="always", policy='a"b').resolve(REQUEST, s, {}).startswith('"a\\"b"')
    resolved = DRAFT_RATELIMIT_HEADERS.resolve(REQUEST, s, {}, throttled=False)
    assert set(resolved) == {"RateLimit", "RateLimit-Policy"}


def test_headers_merge_is_non_mutating_and_copy_is_shallow() -> None:
    base = Headers({"A": Header("1", when="always")})
    extra = Header("2", when="always")
    merged = base | {"B": extra}
    assert list(base) == ["A"]
    assert list(merged) == ["A", "B"]
    assert merged["B"] is extra
    assert (base | Headers({"a": Header("x", when="always")}))["A"].resolve(REQUEST, stat(), {}) == "x"  # type: ignore[union-attr]
    copied = base.copy()
    assert copied == base
    assert copied is not base
    assert copied["A"] is base["A"]
    copied["C"] = Header("3")
    assert "C" not in base
    assert ({"Z": Header("z")} | base)["A"] is base["A"]


def test_disable_suppresses_a_header() -> None:
    merged = DEFAULT_HEADERS_ALWAYS | {"Retry-After": Header.DISABLE}
    resolved = merged.resolve(REQUEST, stat(), {}, throttled=True)
    assert set(resolved) == {"X-RateLimit-Limit", "X-RateLimit-Remaining"}


def test_plain_strings_are_always_headers() -> None:
    assert Headers({"X-Docs": "/limits"}).resolve(REQUEST, stat(), {}, throttled=False) == {"X-Docs": "/limits"}


def test_presets() -> None:
    s = stat(remaining=0, wait_ms=3_000)
    always = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0", "Retry-After": "3"}
    assert DEFAULT_HEADERS_ALWAYS.resolve(REQUEST, s, {}, throttled=False) == always
    assert DEFAULT_HEADERS_THROTTLED.resolve(REQUEST, s, {}, throttled=False) == {}
    assert DEFAULT_HEADERS_THROTTLED.resolve(REQUEST, s, {}, throttled=True) == always
    with pytest.raises(TypeError, match="copy"):
        DEFAULT_HEADERS_ALWAYS["X"] = Header("x")


def test_headers_reject_bad_values() -> None:
    with pytest.raises(ConfigurationError, match="'X'"):
        Headers({"X": 5})  # type: ignore[dict-item]


async def test_get_headers_uses_the_hit_and_overrides() -> None:
    clock = ManualClock(60_000.0)
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    throttle = HTTPThrottle(
        "h", rate="2/min", headers=DEFAULT_HEADERS_THROTTLED, backend=backend, registry=ThrottleRegistry()
    )
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("1.2.3.4", 1)})
    before = await throttle.get_headers(request)
    assert before == {}  # quota left: "throttled" headers do not apply
    await throttle.hit(request)
    await throttle.hit(request)  # spends the last unit: out of quota now
    after = await throttle.get_headers(request)
    # From the admitting decision itself (no second backend call): the window resets in 60 s.
    assert after == {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "Retry-After": "60"}
    fresh_request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("1.2.3.4", 1)})
    snapshot = await throttle.get_headers(fresh_request)  # no hit in this request: a stat snapshot
    assert snapshot == {"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "Retry-After": "60"}
    trimmed = await throttle.get_headers(request, headers={"Retry-After": Header.DISABLE})
    assert "Retry-After" not in trimmed
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request)


async def test_get_headers_without_configured_headers_uses_the_always_preset() -> None:
    backend = InMemoryBackend(clock=ManualClock(0.0), cleanup_frequency=None)
    throttle = HTTPThrottle("h", rate="2/min", backend=backend, registry=ThrottleRegistry())
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": ("1.2.3.4", 1)})
    assert await throttle.get_headers(request) == {
        "X-RateLimit-Limit": "2",
        "X-RateLimit-Remaining": "2",
        "Retry-After": "0",
    }
