"""HTTP overhead in-process: the throttled endpoint vs the same endpoint unthrottled, over ASGI.

Requests go through :class:`httpx.ASGITransport` (no sockets), one at a
time. Each attachment mode is measured against its floor: the unthrottled
endpoint, or for ``Depends(throttle)`` also the endpoint with a no-op
dependency (what FastAPI's dependency machinery costs by itself). Overheads
are printed as the share of requests per second lost, beside the goal where
there is one.

The whole signal is a few % of a request, so the measurement is built to
hold it on a shared machine: times are the process's CPU time (the run has
no I/O); the requests are sent in short rounds of :data:`ROUND_REQUESTS`
to every endpoint in turn; a share is the median over the rounds of each
round's own pair, printed with the quartiles of those pairs, so a figure's
spread shows with it.

The order within a round is a fresh shuffle (seeded: :data:`ORDER_SEED`). A
variant's cost depends on what ran before it, and not only just before: with
one fixed order reversed every other round, or a Williams design (each
variant in each position and right after each other one equally often, but
in fixed patterns beyond that), ``FastThrottledRoute`` lost 0.7 to 0.9% of
requests/s more than ``await throttle.hit(request)``; in shuffled orders
0.3 to 0.7% (three runs each), close to what single requests timed one by
one in shuffled orders show (0 to 1 µs, under 0.3%).

Every variant's app has the same shape (:func:`~benchmarks._app.create_app`):
the same middleware, one route at the same path, the same response class; the
variants differ only in how the throttle is attached.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from traffik.plugins import backend_from_url

from benchmarks import _timing
from benchmarks._app import create_app
from benchmarks._targets import Target
from benchmarks._timing import Sample, ratio, spread

__all__ = ["GOALS", "MODES", "ORDER_SEED", "ROUND_REQUESTS", "asgi_overhead"]

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

SERVED_AT = "/items"
"""The one path every variant's app serves its route at."""

ROUND_REQUESTS = 10
"""Requests per endpoint in one round: ``--repeats`` x ``--requests`` per endpoint make that many / this rounds.

Short rounds keep a mode's requests and its floor's a few ms apart, under the
same load: on a shared machine the paired shares then scatter far less than
over runs of a thousand requests, and the many rounds make their median steady.
"""


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


ORDER_SEED = 19
"""Seeds the rounds' shuffled orders, so a run's sequence of orders is reproducible."""


async def _paired_rounds(
    variants: list[tuple[str, Callable[[int], Awaitable[float]]]], requests: int, repeats: int
) -> list[Sample]:
    """µs per request of every variant, round by round: ``repeats * requests`` requests each in all.

    A round sends :data:`ROUND_REQUESTS` to every variant, in an order
    shuffled for that round; runs of one round share an index in every
    sample's ``runs_us``. One untimed round warms up first. With
    ``--duration``, ``requests`` is sized from it (at most 100x), as a timed
    run elsewhere.
    """
    per_run = min(ROUND_REQUESTS, requests)
    elapsed = 0.0
    for _, run in variants:
        elapsed = max(elapsed, await run(per_run))
    seconds = _timing._run_seconds  # --duration (set_run_seconds), read when the scenario runs
    if seconds is not None and elapsed > 0:
        requests = max(per_run, min(100 * requests, round(per_run * seconds / elapsed)))
    samples = [Sample(name) for name, _ in variants]
    shuffler = random.Random(ORDER_SEED)
    indexes = list(range(len(variants)))
    for _ in range(max(2, repeats * requests // per_run)):
        shuffler.shuffle(indexes)
        for index in indexes:
            samples[index].runs_us.append(await variants[index][1](per_run) / per_run * 1e6)
    return samples


def _paired_shares(sample: Sample, floor: Sample) -> list[float]:
    """Per round, the share of requests/s ``sample`` loses against ``floor`` (the floor's run of that round)."""
    return [1 - low / high for high, low in zip(sample.runs_us, floor.runs_us, strict=True)]


def _lost_share(sample: Sample, floor: Sample) -> float:
    """The share of requests/s ``sample`` loses against ``floor``: the median of the rounds' pairs.

    Each run is set against the floor's run of the same round (the closest in
    time, so under the same load): steadier than comparing two medians when
    the machine's speed drifts.
    """
    return statistics.median(_paired_shares(sample, floor))


def _share_quartiles(sample: Sample, floor: Sample) -> list[float]:
    """The first and third quartiles of the rounds' shares (half the rounds fall between them)."""
    shares = _paired_shares(sample, floor)
    if len(shares) < 2:
        return [round(shares[0], 4)] * 2
    first, _, third = statistics.quantiles(shares, n=4)
    return [round(first, 4), round(third, 4)]


def _against(sample: Sample, floor: Sample) -> dict[str, Any]:
    """``sample`` beside ``floor``: µs and requests/s, the added µs, the ratio and the share of requests/s lost."""
    return {
        "us": spread(sample.runs_us, 1),
        "requests_per_s": round(1e6 / sample.median),
        "overhead_us": round(sample.median - floor.median, 1),
        "ratio_to_floor": ratio(sample.median, floor.median),
        "lost_requests_share": round(_lost_share(sample, floor), 4),
        "lost_share_quartiles": _share_quartiles(sample, floor),
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
            # ... and one URL for all: httpx parses a URL character by character, so a longer
            # path would cost its variant more before any app sees the request.
            app = create_app(backend, [path], served_at=SERVED_AT)
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            client = await clients.enter_async_context(httpx.AsyncClient(transport=transport, base_url="http://bench"))
            variants.append((path.strip("/"), _runner(client, SERVED_AT)))
        plain, noop, *modes = await _paired_rounds(variants, requests, repeats)
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
                "lost_share_quartiles": against["lost_share_quartiles"],
                "rounds": len(sample.runs_us),
                "met": against["lost_requests_share"] <= goal,
            }
        result["modes"][mode] = row
    return result
