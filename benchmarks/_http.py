"""HTTP overhead in-process: the throttled endpoint vs the same endpoint unthrottled, over ASGI.

Requests go through :class:`httpx.ASGITransport` (no sockets), one at a
time, alternating runs of the endpoints so noise falls on all alike. Each
attachment mode is measured against its floor: the unthrottled endpoint, or
for ``Depends(throttle)`` also the endpoint with a no-op dependency (what
FastAPI's dependency machinery costs by itself). Overheads are printed as
the share of requests per second lost, beside the goal where there is one.
Times are the process's CPU time (the run has no I/O): steadier than wall
time on a machine other work shares.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from traffik.plugins import backend_from_url

from benchmarks._app import create_app
from benchmarks._targets import Target
from benchmarks._timing import Sample, measure_interleaved, ratio, spread

__all__ = ["GOALS", "MODES", "asgi_overhead"]

MODES = {
    "Depends(throttle)": "/throttled",
    "@throttled (decorator)": "/decorated",
    "FastThrottledRoute": "/fast",
    "await throttle.hit(request)": "/direct",
    "ThrottleMiddleware": "/middleware",
}
"""How the throttle is attached -> the benchmark app's route for it."""

NOOP_DEPENDENCY = "no-op dependency"

GOALS: dict[str, tuple[str, float]] = {
    "FastThrottledRoute": ("unthrottled", 0.03),
    "Depends(throttle)": (NOOP_DEPENDENCY, 0.03),
}
"""Mode -> (the floor its goal is measured against, the largest share of requests/s it may lose)."""


def _runner(client: httpx.AsyncClient, path: str) -> Callable[[int], Awaitable[float]]:
    # CPU time of this process, not wall time: everything here runs in this thread
    # without I/O, and on a shared machine another process's burst would otherwise
    # land on whichever variant happened to be running (a few % is the whole signal).
    async def run(n: int) -> float:
        started = time.process_time()
        for _ in range(n):
            response = await client.get(path)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text[:200]}")
        return time.process_time() - started

    return run


def _lost_share(sample: Sample, floor: Sample) -> float:
    """The share of requests/s ``sample`` loses against ``floor``, paired by round.

    Each run is set against the floor's run of the same round (the closest in
    time, so under the same load) and the median of those shares is taken:
    steadier than comparing two medians when the machine's speed drifts.
    """
    return statistics.median(1 - low / high for high, low in zip(sample.runs_us, floor.runs_us, strict=True))


def _against(sample: Sample, floor: Sample) -> dict[str, Any]:
    """``sample`` beside ``floor``: µs and requests/s, the added µs, the ratio and the share of requests/s lost."""
    return {
        "us": spread(sample.runs_us, 1),
        "requests_per_s": round(1e6 / sample.median),
        "overhead_us": round(sample.median - floor.median, 1),
        "ratio_to_floor": ratio(sample.median, floor.median),
        "lost_requests_share": round(_lost_share(sample, floor), 4),
    }


async def asgi_overhead(target: Target, requests: int, repeats: int) -> dict[str, Any]:
    """µs per request of ``/plain`` (the floor), ``/noop`` and each attachment mode, beside their floors.

    Args:
        target: The backend the throttle stores its counters in.
        requests: Requests per timed run.
        repeats: Timed runs per endpoint.
    """
    backend = backend_from_url(target.url, namespace=f"bench-asgi-{uuid.uuid4().hex[:8]}")
    paths = ("/plain", "/noop", *MODES.values())
    # ASGITransport does not run the lifespan; the backend's context does its part.
    async with backend, contextlib.AsyncExitStack() as clients:
        variants = []
        for path in paths:
            # One app per route: each variant pays the same routing (one route tried).
            transport = httpx.ASGITransport(app=create_app(backend, [path]), client=("127.0.0.1", 50000))
            client = await clients.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://bench"))
            variants.append((path.strip("/"), _runner(client, path)))
        plain, noop, *modes = await measure_interleaved(variants, requests, repeats)
    throttled = modes[0]
    result: dict[str, Any] = {
        "floor_us": spread(plain.runs_us, 1),
        "floor_requests_per_s": round(1e6 / plain.median),
        "noop_dependency": _against(noop, plain),
        "throttled_us": spread(throttled.runs_us, 1),
        "overhead_us": round(throttled.median - plain.median, 1),
        "ratio_to_floor": ratio(throttled.median, plain.median),
    }
    floors = {"unthrottled": plain, NOOP_DEPENDENCY: noop}
    result["modes"] = {}
    for mode, sample in zip(MODES, modes, strict=True):
        row = _against(sample, plain)
        if mode in GOALS:
            floor_name, goal = GOALS[mode]
            against = _against(sample, floors[floor_name])
            row["goal"] = {
                "floor": floor_name,
                "max_lost_share": goal,
                "lost_share": against["lost_requests_share"],
                "met": against["lost_requests_share"] <= goal,
            }
        result["modes"][mode] = row
    return result
