from fastapi import FastAPI, WebSocket
from traffik import WebSocketThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import throttled

backend = InMemoryBackend()
app = FastAPI(lifespan=backend.lifespan)

connections = WebSocketThrottle("docs:ws:connect", rate="10/min")  # checked before accept
messages = WebSocketThrottle("docs:ws:messages", rate="3/min")  # checked per message


@app.websocket("/chat")
@throttled(connections)  # a throttled handshake is denied with 429
async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    async for text in websocket.iter_text():
        if await messages.check(websocket):
            await messages.hit(websocket)
            await websocket.send_json({"type": "echo", "text": text})
        else:
            await messages.hit(websocket)  # sends {"type": "rate_limit", ...}; the socket stays open
