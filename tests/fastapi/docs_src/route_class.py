from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import PlainTextResponse
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import ThrottledRoute
from traffik.headers import DEFAULT_HEADERS_ALWAYS

backend = InMemoryBackend()
throttle = HTTPThrottle("docs:route-class", rate="10/min", headers=DEFAULT_HEADERS_ALWAYS)

app = FastAPI(lifespan=backend.lifespan)
# Without install(): the route class puts the headers on this router's responses.
router = APIRouter(route_class=ThrottledRoute, dependencies=[Depends(throttle)])


@router.get("/text")
async def text() -> PlainTextResponse:
    return PlainTextResponse("hello")


app.include_router(router)
