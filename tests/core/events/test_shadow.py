"""Shadow mode: decided and reported as enforcing, but the request passes; near-limit validation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from traffik import config
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.events import Outcome
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import ThrottleMiddleware
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle, MiddlewareThrottle, WebSocketThrottle, merged_headers

from tests.core.events.conftest import Recorder, make_request


def _throttle(clock: ManualClock, **options: Any) -> HTTPThrottle:
    options.setdefault("rate", "2/min")
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    return HTTPThrottle("shadow:t", backend=backend, registry=ThrottleRegistry(), **options)


async def test_a_shadow_throttle_counts_but_lets_the_request_pass(clock: ManualClock, recorder: Recorder) -> None:
    throttle = _throttle(clock, shadow=True)
    request = make_request()
    for _ in range(4):
        await throttle.hit(request)  # never raises
    outcomes = [event.outcome for event in recorder.decisions]
    assert outcomes == [Outcome.ALLOWED, Outcome.ALLOWED, Outcome.SHADOW_THROTTLED, Outcome.SHADOW_THROTTLED]
    assert all(event.shadow for event in recorder.decisions)
    assert recorder.decisions[2].wait_seconds > 0
    stat = await throttle.stat(request)
    assert stat is not None
    assert stat.hits_remaining == 0
    assert throttle.is_shadow


async def test_switching_between_shadow_and_enforcing_needs_no_restart(clock: ManualClock) -> None:
    throttle = _throttle(clock)
    request = make_request()
    await throttle.hit(request)
    await throttle.hit(request)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request)
    await throttle.update_shadow(True)
    await throttle.hit(request)
    await throttle.update_shadow(False)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request)
    await throttle.update_shadow(None)  # follows the app-wide setting
    config.set_shadow(True)
    await throttle.hit(request)
    assert throttle.is_shadow


async def test_app_wide_shadow_from_the_environment(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.TRAFFIK_SHADOW, "true")
    config.reset_config()
    shadowed, enforcing = _throttle(clock), _throttle(clock, shadow=False)
    request = make_request()
    for _ in range(3):
        await shadowed.hit(request)
    await enforcing.hit(request)
    await enforcing.hit(request)
    with pytest.raises(ConnectionThrottled):
        await enforcing.hit(request)


async def test_shadow_headers_are_hidden_unless_asked_for(clock: ManualClock) -> None:
    hidden = _throttle(clock, shadow=True, headers=DEFAULT_HEADERS_ALWAYS)
    shown = _throttle(clock, shadow=True, shadow_headers=True, headers=DEFAULT_HEADERS_ALWAYS)
    for throttle in (hidden, shown):
        for _ in range(2):
            await throttle.hit(make_request())
    quiet, told = make_request(), make_request()
    await hidden.hit(quiet)
    await shown.hit(told)
    assert merged_headers(quiet.scope) == {}
    assert merged_headers(told.scope)["X-RateLimit-Remaining"] == "0"


async def test_a_failing_backend_does_not_block_a_shadow_throttle(clock: ManualClock, recorder: Recorder) -> None:
    class Broken(InMemoryBackend):
        async def hit(self, key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
            raise ConnectionError("down")

    throttle = HTTPThrottle(
        "shadow:broken", rate="2/min", backend=Broken(), registry=ThrottleRegistry(), on_error="throttle", shadow=True
    )
    await throttle.hit(make_request())
    (event,) = recorder.decisions
    assert (event.outcome, event.shadow, event.wait_seconds > 0) == (Outcome.ERROR, True, True)
    assert [error.policy for error in recorder.errors] == ["throttle"]


def test_a_shadow_middleware_throttle_lets_requests_through(clock: ManualClock, recorder: Recorder) -> None:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    throttle = _throttle(clock, shadow=True)
    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(throttle)])
    with TestClient(app) as client:
        statuses = [client.get("/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert recorder.decisions[-1].outcome is Outcome.SHADOW_THROTTLED


async def test_websocket_throttle_takes_shadow(clock: ManualClock) -> None:
    throttle = WebSocketThrottle(
        "shadow:ws", rate="1/min", backend=InMemoryBackend(clock=clock), registry=ThrottleRegistry(), shadow=True
    )
    assert throttle.is_shadow


@pytest.mark.parametrize("value", [0, -0.5, 1.5, math.nan, "0.8", True], ids=repr)
def test_invalid_near_limit_ratio(clock: ManualClock, value: object) -> None:
    with pytest.raises(ConfigurationError, match=rf"HTTPThrottle\('shadow:t'\): near_limit_ratio .* got {value!r}"):
        _throttle(clock, near_limit_ratio=value)
    with pytest.raises(ConfigurationError, match=rf"traffik.config: near_limit_ratio .* got {value!r}"):
        config.set_near_limit_ratio(value)  # type: ignore[arg-type]  # the error under test


@pytest.mark.parametrize("raw", ["0", "1.01", "nan", "high"])
def test_invalid_near_limit_ratio_in_the_environment(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(config.TRAFFIK_NEAR_LIMIT_RATIO, raw)
    config.reset_config()
    with pytest.raises(ConfigurationError, match=rf"TRAFFIK_NEAR_LIMIT_RATIO must be .* got {raw!r}"):
        config.get_near_limit_ratio()


def test_near_limit_ratio_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.get_near_limit_ratio() == config.DEFAULT_NEAR_LIMIT_RATIO == 0.8
    monkeypatch.setenv(config.TRAFFIK_NEAR_LIMIT_RATIO, "0.9")
    config.reset_config()
    assert config.get_near_limit_ratio() == 0.9


def test_invalid_shadow(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match=r"HTTPThrottle\('shadow:t'\): shadow must be .* got 'yes'"):
        _throttle(clock, shadow="yes")
    with pytest.raises(ConfigurationError, match=r"shadow_headers must be .* got 1"):
        _throttle(clock, shadow_headers=1)
    with pytest.raises(ConfigurationError, match=r"traffik.config: shadow must be .* got 'on'"):
        config.set_shadow("on")  # type: ignore[arg-type]  # the error under test
    monkeypatch.setenv(config.TRAFFIK_SHADOW, "maybe")
    config.reset_config()
    with pytest.raises(ConfigurationError, match=r"TRAFFIK_SHADOW must be .* got 'maybe'"):
        config.get_shadow()
