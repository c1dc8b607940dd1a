from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.middleware import ThrottleMiddleware
from traffik.throttles import MiddlewareThrottle

backend = InMemoryBackend()
api = HTTPThrottle("docs:middleware:api", rate="2/min", headers=DEFAULT_HEADERS_ALWAYS)

app = FastAPI(lifespan=backend.lifespan)
# The middleware runs the throttle before routing and sets the headers on every response itself.
app.add_middleware(ThrottleMiddleware, middleware_throttles=[MiddlewareThrottle(api, path="/api/**")])


@app.get("/api/users/{user_id}")
async def user(user_id: int) -> dict[str, int]:
    return {"user_id": user_id}
