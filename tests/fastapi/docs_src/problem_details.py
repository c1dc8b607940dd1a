from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.decorators import install, throttled

backend = InMemoryBackend()
login = HTTPThrottle("docs:problem:login", rate="3/min")

# Throttled requests get an RFC 9457 application/problem+json body.
app = install(
    FastAPI(lifespan=backend.lifespan),
    problem_details=True,
    problem_type="https://example.com/problems/rate-limit",
)


@app.post("/login")
@throttled(login)
async def log_in() -> dict[str, bool]:
    return {"ok": True}
