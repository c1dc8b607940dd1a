"""Tutorial, step 7: Redis, shared by two uvicorn workers."""

from __future__ import annotations

# --8<-- [start:example]
import os

from fastapi import FastAPI
from traffik import HTTPThrottle
from traffik.backends.redis import RedisBackend
from traffik.decorators import install, throttled
from traffik.strategies import SlidingWindowLog

backend = RedisBackend(
    os.environ.get("REDIS_URL", "redis://localhost:6379/0"),
    namespace="notes-service",
    # keep the counters when a worker stops: the other workers still use them
    persistent=True,
)
app = FastAPI(lifespan=backend.lifespan)
install(app)

# 5 requests in any 60 seconds (no calendar-minute edge a burst could straddle)
notes_limit = HTTPThrottle("step7:notes", rate="5/min", strategy=SlidingWindowLog())


@app.get("/notes")
@throttled(notes_limit)
async def list_notes() -> dict[str, object]:
    # which worker process answered
    return {"notes": ["buy milk"], "worker": os.getpid()}


@app.get("/health")
async def health() -> str:
    return "ok"


# --8<-- [end:example]


# --8<-- [start:demo]
def main() -> None:
    import socket
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx
    from fastapi.testclient import TestClient

    async def reset() -> None:
        await backend.clear()

    # start from a clean namespace (persistent=True keeps data between runs)
    with TestClient(app) as client:
        client.portal.call(reset)

    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    here = Path(__file__).resolve().parent
    command = [
        *(sys.executable, "-m", "uvicorn", f"{Path(__file__).stem}:app"),
        *("--app-dir", str(here), "--host", "127.0.0.1", "--port", str(port)),
        *("--workers", "2", "--log-level", "warning"),
    ]
    server = subprocess.Popen(command)  # REDIS_URL passes on in the environment
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait (at most 30 s) until a worker answers
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("uvicorn did not start")
        # a new connection per request, so either worker may answer each
        statuses = [httpx.get(f"{base}/notes").status_code for _ in range(8)]
        # one quota of 5, whichever worker counted each request
        assert statuses == [200] * 5 + [429] * 3
    finally:
        server.terminate()
        server.wait(timeout=30)
        with TestClient(app) as client:
            client.portal.call(reset)


# --8<-- [end:demo]
