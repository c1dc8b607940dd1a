"""Throttled handlers: decide what a throttled client gets."""

from __future__ import annotations

# --8<-- [start:example]
from collections.abc import Mapping
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, WebSocket
from starlette.requests import HTTPConnection
from traffik import HTTPThrottle, WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.exceptions import ConnectionThrottled


async def polite_429(
    connection: HTTPConnection,
    wait_ms: float,
    throttle: Any,
    context: Mapping[str, Any],
) -> None:
    # An HTTP handler blocks the request by raising.
    raise ConnectionThrottled(wait_ms, detail=f"Slow down, {context['product']} user!")


async def teapot(
    connection: HTTPConnection,
    wait_ms: float,
    throttle: Any,
    context: Mapping[str, Any],
) -> None:
    raise HTTPException(
        status_code=418, detail=f"{throttle.uid}: try again in {wait_ms:.0f} ms"
    )


async def close_socket(
    websocket: WebSocket, wait_ms: float, throttle: Any, context: Mapping[str, Any]
) -> None:
    await websocket.close(code=1008)  # policy violation


backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
polite = HTTPThrottle(
    "handlers:polite",
    rate="1/min",
    handle_throttled=polite_429,
    context={"product": "Acme"},
)
brewing = HTTPThrottle("handlers:teapot", rate="1/min", handle_throttled=teapot)
messages = WebSocketThrottle("handlers:ws", rate="1/min", handle_throttled=close_socket)


@app.get("/polite", dependencies=[Depends(polite)])
async def polite_route() -> str:
    return "ok"


@app.get("/teapot", dependencies=[Depends(brewing)])
async def teapot_route() -> str:
    return "ok"


@app.websocket("/ws")
async def ws(websocket: WebSocket) -> None:
    await websocket.accept()
    while websocket.application_state.name == "CONNECTED":
        await websocket.receive_text()
        if await messages.allow(websocket):  # False once the handler closed it
            await websocket.send_text("ok")


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        client.get("/polite")
        denied = client.get("/polite")
        assert denied.status_code == 429
        assert denied.json() == {"detail": "Slow down, Acme user!"}
        client.get("/teapot")
        assert client.get("/teapot").json() == {
            "detail": "handlers:teapot: try again in 60000 ms"
        }

        with client.websocket_connect("/ws") as socket:
            socket.send_text("hello")
            assert socket.receive_text() == "ok"
            socket.send_text("again")
            closed = socket.receive()
            assert closed == {"type": "websocket.close", "code": 1008, "reason": ""}


# --8<-- [end:demo]
