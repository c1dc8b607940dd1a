from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
app = install(FastAPI(lifespan=backend.lifespan))

burst = HTTPThrottle("docs:decorator:burst", rate="5/s", headers=DEFAULT_HEADERS_ALWAYS)
sustained = HTTPThrottle("docs:decorator:sustained", rate="100/min", headers=DEFAULT_HEADERS_ALWAYS)


@app.get("/items/{item_id}")
@throttled(burst, sustained)  # under @app.get; both limits apply, in order
async def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
    return {"item_id": item_id, "q": q}


@app.get("/report")
@throttled(sustained)
def report() -> PlainTextResponse:  # sync endpoints work too (run in the threadpool)
    return PlainTextResponse("all good")  # its own Response: the headers are still set
