"""WebSocketThrottle: per-message frames on an open socket, 429 before accept (FastAPI dependency)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect
from traffik import WebSocketThrottle
from traffik.backends.base import ErrorPolicy


def test_per_message_throttle_sends_frame_and_keeps_connection(
    backend: Any, registry: Any, test_client: Any, clock: Any
) -> None:
    clock.set(60_000_000.0)
    throttle = WebSocketThrottle("msgs", rate="2/10s", backend=backend, registry=registry)
    app = FastAPI()

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                if await throttle.check(websocket):
                    await throttle.hit(websocket)
                    await websocket.send_text(f"echo:{text}")
                else:
                    await throttle.hit(websocket)  # sends the rate-limit frame
        except WebSocketDisconnect:
            pass

    with test_client(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("a")
        assert ws.receive_text() == "echo:a"
        ws.send_text("b")
        assert ws.receive_text() == "echo:b"
        ws.send_text("c")
        assert ws.receive_json() == {"type": "rate_limit", "error": "Too many messages", "retry_after": 10}
        clock.advance(10_000)
        ws.send_text("d")  # the connection stayed open
        assert ws.receive_text() == "echo:d"


def test_dependency_denies_handshake_with_429(backend: Any, registry: Any, test_client: Any, denial: Any) -> None:
    throttle = WebSocketThrottle("conn", rate="1/min", backend=backend, registry=registry)
    app = FastAPI()

    @app.websocket("/ws", dependencies=[Depends(throttle)])
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("welcome")
        await websocket.close()

    with test_client(app) as client:
        with client.websocket_connect("/ws") as ws:
            assert ws.receive_text() == "welcome"
        with pytest.raises(denial) as info, client.websocket_connect("/ws"):
            pass  # pragma: no cover  # the handshake is denied
    assert info.value.status_code == 429
    assert "retry-after" in info.value.headers


def test_handler_may_close_with_1008(backend: Any, registry: Any, test_client: Any) -> None:
    async def close_it(websocket: Any, wait_ms: float, throttle: Any, context: Any) -> None:
        await websocket.close(code=1008)

    throttle = WebSocketThrottle("closer", rate="1/min", handle_throttled=close_it, backend=backend, registry=registry)
    app = FastAPI()

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:
            await websocket.receive_text()
            await throttle.hit(websocket)
            if websocket.application_state.name != "CONNECTED":
                return
            await websocket.send_text("ok")

    with test_client(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_text("1")
        assert ws.receive_text() == "ok"
        ws.send_text("2")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1008


def test_websocket_keys_are_separate_from_http(backend: Any, registry: Any, test_client: Any) -> None:
    throttle = WebSocketThrottle("ws", rate="1/min", backend=backend, registry=registry)
    app = FastAPI()

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await throttle.hit(websocket)
        stat = await throttle.stat(websocket)
        await websocket.send_json({"key": str(stat.key) if stat else None})
        await websocket.close()

    with test_client(app) as client, client.websocket_connect("/ws") as ws:
        key = ws.receive_json()["key"]
    assert key == "ws:testclient:WEBSOCKET:/ws"


def test_app_level_http_throttle_also_guards_websocket_handshakes(
    backend: Any, registry: Any, test_client: Any, denial: Any
) -> None:
    from traffik import HTTPThrottle

    throttle = HTTPThrottle("everything", rate="1/min", backend=backend, registry=registry)
    app = FastAPI(dependencies=[Depends(throttle)])

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close()

    with test_client(app) as client:
        with client.websocket_connect("/ws"):
            pass
        with pytest.raises(denial) as info, client.websocket_connect("/ws"):
            pass  # pragma: no cover  # the handshake is denied
    assert info.value.status_code == 429


def test_allow_answers_each_message_from_one_backend_call(
    backend: Any, registry: Any, test_client: Any, clock: Any
) -> None:
    clock.set(60_000_000.0)
    throttle = WebSocketThrottle("allow", rate="2/10s", backend=backend, registry=registry)
    app = FastAPI()
    verdicts: list[bool] = []

    @app.websocket("/ws")
    async def ws_endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            while True:
                text = await websocket.receive_text()
                verdicts.append(await throttle.allow(websocket))
                if verdicts[-1]:
                    await websocket.send_text(f"echo:{text}")
        except WebSocketDisconnect:
            pass

    with test_client(app) as client, client.websocket_connect("/ws") as ws:
        for text in ("a", "b"):
            ws.send_text(text)
            assert ws.receive_text() == f"echo:{text}"
        ws.send_text("c")
        assert ws.receive_json() == {"type": "rate_limit", "error": "Too many messages", "retry_after": 10}
        clock.advance(10_000)
        ws.send_text("d")
        assert ws.receive_text() == "echo:d"
    assert verdicts == [True, True, False, True]
    assert backend.hits == 4  # one consuming call per message
    assert backend.peeks == 0


@pytest.mark.parametrize(("policy", "expected"), [("allow", True), ("throttle", False)], ids=["allow", "throttle"])
async def test_allow_follows_on_error(policy: ErrorPolicy, expected: bool, registry: Any, failing_backend: Any) -> None:
    from starlette.websockets import WebSocketState

    sent: list[Any] = []

    async def receive() -> Any:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    websocket = WebSocket({"type": "websocket", "path": "/ws", "headers": [], "client": ("1.2.3.4", 1)}, receive, send)
    websocket.application_state = WebSocketState.CONNECTED
    throttle = WebSocketThrottle("down", rate="5/min", backend=failing_backend(), on_error=policy, registry=registry)

    assert await throttle.allow(websocket) is expected
    assert len(sent) == (0 if expected else 1)  # "throttle" sends the rate-limit frame


async def test_allow_is_true_when_the_throttle_does_not_apply(backend: Any, registry: Any) -> None:
    websocket = WebSocket({"type": "websocket", "path": "/ws", "headers": [], "client": ("1.2.3.4", 1)}, None, None)  # type: ignore[arg-type]  # never receives or sends
    throttle = WebSocketThrottle("skip", rate="1/min", backend=backend, registry=registry)
    assert await throttle.allow(websocket, cost=0)
    await throttle.disable()
    assert await throttle.allow(websocket)
    assert backend.hits == 0
