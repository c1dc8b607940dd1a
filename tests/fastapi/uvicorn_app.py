"""The app the end-to-end tests serve with a real uvicorn process (``uvicorn_app:app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, StreamingResponse
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.throttles import HTTPThrottle

backend = InMemoryBackend()
# Windows of an hour: the tests never have to wait one out.
per_route = HTTPThrottle("e2e:route", rate="2/h", headers=DEFAULT_HEADERS_ALWAYS)
shared = HTTPThrottle("e2e:shared", rate="3/h", headers=DEFAULT_HEADERS_ALWAYS, use_method=False)

app = install(FastAPI(lifespan=backend.lifespan), problem_details=True)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/decorated")
@throttled(per_route)
async def decorated() -> PlainTextResponse:
    return PlainTextResponse("decorated")


async def _chunks() -> AsyncIterator[bytes]:
    for part in (b"a", b"b", b"c"):
        yield part


@app.get("/stream", dependencies=[throttled(shared)])
async def stream() -> StreamingResponse:
    return StreamingResponse(_chunks(), media_type="text/plain")


@app.get("/sync", dependencies=[throttled(shared)])
def sync_route() -> dict[str, str]:
    return {"mode": "sync"}
