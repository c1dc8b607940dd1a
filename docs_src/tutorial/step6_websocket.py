"""Tutorial, step 6: a WebSocket, limited per connection and per message."""

from __future__ import annotations

from fastapi import FastAPI, WebSocket
from traffik import WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)
install(app)

# --8<-- [start:example]
# checked once, before accept: a throttled handshake is denied with 429
connections = WebSocketThrottle("step6:ws:connect", rate="10/min")
# checked for every message inside the socket
messages = WebSocketThrottle("step6:ws:messages", rate="3/min")


@app.websocket("/ws/notes")
@throttled(connections)
async def notes_feed(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        # one backend call consumes the quota and answers; over the limit the
        # client gets {"type": "rate_limit", ...} and the socket stays open
        if await messages.allow(websocket):
            await websocket.send_json({"type": "saved", "note": text})


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    from fastapi.testclient import TestClient
    from starlette.testclient import WebSocketDenialResponse
    from traffik.clock import ManualClock

    # frozen time: the demo never crosses a window edge
    backend.clock = ManualClock()

    with TestClient(app) as client:
        with client.websocket_connect("/ws/notes") as socket:
            replies = []
            for note in ("milk", "eggs", "bread", "jam"):
                socket.send_text(note)
                replies.append(socket.receive_json())
            assert [reply["type"] for reply in replies[:3]] == ["saved"] * 3
            assert replies[3] == {
                "type": "rate_limit",
                "error": "Too many messages",
                "retry_after": 60,
            }
        for _ in range(9):  # connections 2 to 10 of the minute
            with client.websocket_connect("/ws/notes"):
                pass
        try:
            with client.websocket_connect("/ws/notes"):
                pass
        except WebSocketDenialResponse as denial:
            status = denial.status_code
        else:
            raise AssertionError("the 11th connection of the minute is denied")
        assert status == 429


# --8<-- [end:demo]
