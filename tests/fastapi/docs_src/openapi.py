from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
public = HTTPThrottle("docs:openapi:public", rate="100/min", use_method=False)
internal = HTTPThrottle("docs:openapi:internal", rate="10/s")

app = install(FastAPI(lifespan=backend.lifespan))  # install(app, openapi=False) documents nothing


@app.get("/public")
@throttled(public)  # documented: a 429 response, its headers, "100/min per client"
async def public_route() -> dict[str, str]:
    return {"hello": "world"}


@app.get("/internal")
@throttled(internal, openapi=False)  # throttled, but left out of the schema
async def internal_route() -> dict[str, str]:
    return {"hello": "ops"}
