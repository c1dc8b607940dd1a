"""HTTP overhead in-process: the throttled endpoint vs the same endpoint unthrottled, over ASGI.

Requests go through :class:`httpx.ASGITransport` (no sockets), one at a
time, alternating runs of the two endpoints so noise falls on both alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from traffik.plugins import backend_from_url

from benchmarks._app import create_app
from benchmarks._targets import Target
from benchmarks._timing import measure_interleaved, ratio, spread

__all__ = ["MODES", "asgi_overhead"]

MODES = {
    "Depends(throttle)": "/throttled",
    "await throttle.hit(request)": "/direct",
    "ThrottleMiddleware": "/middleware",
}
"""How the throttle is attached -> the benchmark app's route for it."""


def _runner(client: httpx.AsyncClient, path: str) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            response = await client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        return time.perf_counter() - started

    return run


async def asgi_overhead(target: Target, requests: int, repeats: int) -> dict[str, Any]:
    """µs per request of ``/plain`` (the floor) and ``/throttled``, and their ratio.

    Args:
        target: The backend the throttle stores its counters in.
        requests: Requests per timed run.
        repeats: Timed runs per endpoint.
    """
    backend = backend_from_url(target.url, namespace=f"bench-asgi-{uuid.uuid4().hex[:8]}")
    app = create_app(backend)
    # ASGITransport does not run the lifespan; the backend's context does its part.
    async with backend:
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            plain, throttled, direct, middleware = await measure_interleaved(
                [(path.strip("/"), _runner(client, path)) for path in ("/plain", *MODES.values())],
                requests,
                repeats,
            )
    result: dict[str, Any] = {
        "floor_us": spread(plain.runs_us, 1),
        "throttled_us": spread(throttled.runs_us, 1),
        "overhead_us": round(throttled.median - plain.median, 1),
        "ratio_to_floor": ratio(throttled.median, plain.median),
    }
    result["modes"] = {
        mode: {
            "us": spread(sample.runs_us, 1),
            "overhead_us": round(sample.median - plain.median, 1),
            "ratio_to_floor": ratio(sample.median, plain.median),
        }
        for mode, sample in zip(MODES, (throttled, direct, middleware), strict=True)
    }
    return result
