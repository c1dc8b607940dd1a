from fastapi import APIRouter, FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
everywhere = HTTPThrottle("docs:deps:app", rate="1000/h")
api = HTTPThrottle("docs:deps:router", rate="100/min")
search = HTTPThrottle("docs:deps:route", rate="2/min")

# App-wide, router-wide and route-level throttles compose.
app = install(FastAPI(lifespan=backend.lifespan, dependencies=[throttled(everywhere)]))
router = APIRouter(prefix="/api", dependencies=[throttled(api)])


@router.get("/search", dependencies=[throttled(search)])
async def run_search(q: str) -> dict[str, str]:
    return {"q": q}


app.include_router(router)
