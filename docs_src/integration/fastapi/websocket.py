"""traffik-fastapi: @throttled on a WebSocket route, and a throttle per message."""

from __future__ import annotations

# --8<-- [start:example]
from fastapi import FastAPI, WebSocket
from traffik import WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import throttled

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)

# checked before accept
connections = WebSocketThrottle("docs:ws:connect", rate="10/min")
# checked per message
messages = WebSocketThrottle("docs:ws:messages", rate="3/min")


@app.websocket("/chat")
@throttled(connections)  # a throttled handshake is denied with 429
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        # over the limit: sends {"type": "rate_limit", ...} and returns
        # False; the socket stays open
        if await messages.allow(websocket):
            await websocket.send_json({"type": "echo", "text": text})


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from starlette.testclient import WebSocketDenialResponse
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock(36_000_000.0)

    with TestClient(app) as client:
        with client.websocket_connect("/chat") as socket:
            replies = []
            for text in ("a", "b", "c", "d"):
                socket.send_text(text)
                replies.append(socket.receive_json())
        assert replies[:3] == [{"type": "echo", "text": t} for t in ("a", "b", "c")]
        assert replies[3]["type"] == "rate_limit"
        for _ in range(9):  # connections 2 to 10 of the minute are accepted
            with client.websocket_connect("/chat"):
                pass
        try:
            with client.websocket_connect("/chat"):
                pass
        except WebSocketDenialResponse as denial:
            status = denial.status_code
        else:
            raise AssertionError("the 11th connection in a minute must be denied")
        assert status == 429


# --8<-- [end:demo]
