"""WebSocket routes: limit connections (handshake) and messages (inside the handler)."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import Depends, FastAPI, WebSocket, WebSocketDisconnect
from starlette.testclient import WebSocketDenialResponse
from traffik import WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend

backend = InMemoryBackend()
connections = WebSocketThrottle("ws:connect", rate="2/min")  # checked before accept
messages = WebSocketThrottle("ws:messages", rate="3/min")  # once per message

app = FastAPI(lifespan=backend.lifespan)


@app.websocket("/chat", dependencies=[Depends(connections)])
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            # one atomic call: consumes, and over the limit sends
            # {"type": "rate_limit", ...} and returns False
            if await messages.allow(websocket):
                await websocket.send_json({"type": "echo", "text": text})
    except WebSocketDisconnect:
        pass


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        with client.websocket_connect("/chat") as ws:
            for text in ("a", "b", "c"):
                ws.send_text(text)
                assert ws.receive_json() == {"type": "echo", "text": text}
            ws.send_text("d")
            frame = ws.receive_json()
            assert frame["type"] == "rate_limit"
            assert frame["error"] == "Too many messages"
            assert frame["retry_after"] >= 1

        with client.websocket_connect("/chat"):
            pass
        try:
            with client.websocket_connect("/chat"):
                pass
        except WebSocketDenialResponse as denial:
            status = denial.status_code
        else:
            raise AssertionError("the third connection must be denied")
        assert status == 429  # the third handshake in a minute is denied


# --8<-- [end:demo]
