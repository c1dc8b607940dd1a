"""An outage says what it is: a distinct detail, one recovery line, readable keys in the log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.websockets import WebSocket, WebSocketState
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.backends.redis import RedisBackend
from traffik.exceptions import (
    BACKEND_ERROR_KEY,
    BackendConnectionError,
    ConnectionThrottled,
    retry_detail,
)
from traffik.registry import ThrottleRegistry
from traffik.testing import free_port

from tests.resilience.conftest import FlakyBackend, make_request


def throttle_on(backend: FlakyBackend, **options: Any) -> HTTPThrottle:
    return HTTPThrottle("outage", rate="5/min", backend=backend, registry=ThrottleRegistry(), **options)


async def test_the_throttle_policy_names_the_outage_not_the_client() -> None:
    backend = FlakyBackend()
    throttle = throttle_on(backend, on_error="throttle")
    backend.down = True
    with pytest.raises(ConnectionThrottled) as outage:
        await throttle.hit(make_request())
    assert outage.value.status_code == 429
    assert outage.value.detail == "Rate limit service unavailable. Retry in 1 second."
    assert outage.value.headers == {"Retry-After": "1"}

    backend.down = False
    for _ in range(5):
        await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled) as over:
        await throttle.hit(make_request())
    assert str(over.value.detail).startswith("Too many requests. Retry in ")


async def test_a_handler_learns_the_backend_error_from_the_context() -> None:
    seen: list[Mapping[str, Any]] = []

    async def handler(connection: Any, wait_ms: float, throttle: Any, context: Mapping[str, Any]) -> None:
        seen.append(context)

    backend = FlakyBackend()
    backend.down = True
    throttle = throttle_on(backend, on_error="throttle", handle_throttled=handler, context={"plan": "free"})
    await throttle.hit(make_request())
    assert isinstance(seen[0][BACKEND_ERROR_KEY], BackendConnectionError)
    assert seen[0]["plan"] == "free"  # the throttle's own context is kept
    assert BACKEND_ERROR_KEY not in throttle.context


async def test_the_websocket_frame_names_the_outage() -> None:
    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    websocket = WebSocket({"type": "websocket", "path": "/", "headers": [], "client": ("1.2.3.4", 1)}, receive, send)
    websocket.application_state = WebSocketState.CONNECTED
    backend = FlakyBackend()
    backend.down = True
    throttle = WebSocketThrottle("ws-outage", rate="5/min", backend=backend, registry=ThrottleRegistry())
    assert not await throttle.allow(websocket)
    assert sent[0]["text"] == '{"type":"rate_limit","error":"Rate limit service unavailable","retry_after":1}'


def test_retry_detail_pluralises() -> None:
    assert retry_detail(1) == "Too many requests. Retry in 1 second."
    assert retry_detail(2) == "Too many requests. Retry in 2 seconds."
    assert ConnectionThrottled(1.0).detail == "Too many requests. Retry in 1 second."


async def test_recovery_is_logged_once_after_failures(caplog: pytest.LogCaptureFixture) -> None:
    backend = FlakyBackend()
    throttle = throttle_on(backend, on_error="allow")
    with caplog.at_level(logging.WARNING, logger="traffik"):
        await throttle.hit(make_request())  # healthy: nothing to recover from
        backend.down = True
        for _ in range(3):
            await throttle.hit(make_request())
        backend.down = False
        for _ in range(3):
            await throttle.hit(make_request())
    recovered = [message for message in caplog.messages if "recovered" in message]
    assert recovered == ["FlakyBackend recovered: calls succeed again after 3 failed calls"]


@pytest.mark.redis
async def test_keys_in_failure_logs_are_not_doubly_escaped(caplog: pytest.LogCaptureFixture) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    backend = RedisBackend(url, namespace="down", require_startup_connection=False, socket_timeout=0.5)
    throttle = HTTPThrottle("readable", rate="5/min", backend=backend, on_error="allow", registry=ThrottleRegistry())
    with caplog.at_level(logging.WARNING, logger="traffik"):
        await throttle.hit(make_request("::1"))  # an IPv6 peer: its colons are escaped in the key
    await backend.close()
    (line,) = [message for message in caplog.messages if "RedisBackend failed" in message]
    assert r"readable:\:\:1:GET:/" in line
    assert "\\\\" not in line
