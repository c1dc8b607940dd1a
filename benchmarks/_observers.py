"""µs per ``await throttle.hit(request)`` (the whole pipeline, in memory) with and without observers.

The variants run interleaved in one process, so they share the machine's
noise, timed in the process's CPU time (no I/O here: another process's burst
on a shared machine then lands on no variant's clock): ``none`` (no observer
registered: the hit builds no event and reads no clock), ``no-op`` (one
:class:`~traffik.events.Observer` whose methods do nothing: the cost of
building and dispatching an event), and any observer added to
:data:`OBSERVER_FACTORIES` (a metrics distribution's observer).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Final

from starlette.requests import Request
from traffik.backends.inmemory import InMemoryBackend
from traffik.events import Observer
from traffik.events._dispatch import DISPATCH
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow
from traffik.throttles import HTTPThrottle

from benchmarks._timing import Sample, measure_interleaved

__all__ = ["OBSERVER_FACTORIES", "observer_cost"]

Runner = Callable[[int], Awaitable[float]]


def _prometheus() -> Observer:
    from prometheus_client import CollectorRegistry
    from traffik.prometheus import PrometheusObserver

    return PrometheusObserver(CollectorRegistry())


def _opentelemetry(latency: bool) -> Callable[[], Observer]:
    def build() -> Observer:
        # The SDK with a reader, as in production: the API's no-op provider would time nothing.
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from traffik.opentelemetry import OpenTelemetryObserver

        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        return OpenTelemetryObserver(provider, latency=latency)

    return build


OBSERVER_FACTORIES: dict[str, Callable[[], Observer | None]] = {
    "none": lambda: None,
    "no-op": Observer,
    "prometheus": _prometheus,
    "opentelemetry": _opentelemetry(latency=True),
    "opentelemetry, no latency": _opentelemetry(latency=False),
}
"""Variant name -> a factory of the observer to register (``None``: none). Extend it to time yours."""

# A limit that is never reached, so every hit is admitted (the common case).
_NEVER_REACHED = Rate(limit=10**9, minutes=1)


def _request() -> Request:
    scope = {"type": "http", "method": "GET", "path": "/items", "headers": [], "query_string": b""}
    return Request({**scope, "client": ("203.0.113.7", 50_000)})


def _runner(observer: Observer | None) -> Runner:
    throttle = HTTPThrottle(
        "bench:observers",
        rate=_NEVER_REACHED,
        backend=InMemoryBackend(namespace="bench-observers", cleanup_frequency=None),
        registry=ThrottleRegistry(),
    )
    request = _request()
    watching = () if observer is None else (observer,)

    async def run(n: int) -> float:
        saved = DISPATCH.observers
        DISPATCH.observers = watching
        try:
            hit = throttle.hit
            start = time.process_time()
            for _ in range(n):
                await hit(request)
            return time.process_time() - start
        finally:
            DISPATCH.observers = saved

    return run


#: The goal for a whole hit against the backend step alone (a fresh request per hit, no observer).
PIPELINE_GOAL: Final = 1.5

_FRESH = "none, fresh request"
_BUILD = "request build (less)"
_STEP = "backend step (floor)"


def _fresh_runner(build_only: bool) -> Runner:
    # A new Request (and scope) per hit, as a server makes: nothing is cached from the last hit.
    # The same loop that only builds the requests is timed too and subtracted.
    throttle = HTTPThrottle(
        "bench:fresh",
        rate=_NEVER_REACHED,
        backend=InMemoryBackend(namespace="bench-fresh", cleanup_frequency=None),
        registry=ThrottleRegistry(),
        strategy=FixedWindow(),
    )
    scope = {**_request().scope}

    async def run(n: int) -> float:
        hit = throttle.hit
        start = time.process_time()
        if build_only:
            for _ in range(n):
                Request(scope.copy())
        else:
            for _ in range(n):
                await hit(Request(scope.copy()))
        return time.process_time() - start

    return run


def _step_runner() -> Runner:
    backend, strategy = InMemoryBackend(namespace="bench-step", cleanup_frequency=None), FixedWindow()
    key = "bench\\:fresh:203.0.113.7:GET:/items"  # the key the throttle above builds

    async def run(n: int) -> float:
        hit = backend.hit
        start = time.process_time()
        for _ in range(n):
            await hit(key, strategy, _NEVER_REACHED, 1)
        return time.process_time() - start

    return run


async def observer_cost(operations: int, repeats: int) -> list[dict[str, object]]:
    """One row per variant of :data:`OBSERVER_FACTORIES`: µs per hit and the difference to ``none``.

    Three more rows time, with no observer, a FixedWindow hit on a fresh
    request per hit (the request's construction subtracted), the request's
    construction, and the backend step alone; the fresh hit's row carries its
    ratio to the step (the median of the interleaved runs' ratios) beside
    :data:`PIPELINE_GOAL`.
    """
    DISPATCH.plugins_loaded = True  # time the observers named here, not whatever is installed
    variants = [(name, _runner(factory())) for name, factory in OBSERVER_FACTORIES.items()]
    variants += [(_FRESH, _fresh_runner(False)), (_BUILD, _fresh_runner(True)), (_STEP, _step_runner())]
    samples: list[Sample] = await measure_interleaved(variants, operations, repeats)
    fresh, build, step = samples[-3:]
    # Per run: the fresh hits' time less the building's (runs are interleaved, so paired).
    fresh.runs_us = [hit - made for hit, made in zip(fresh.runs_us, build.runs_us, strict=True)]
    base = samples[0].median
    rows: list[dict[str, object]] = [
        {
            "observer": sample.name,
            "median_us": round(sample.median, 3),
            "min_us": round(sample.low, 3),
            "max_us": round(sample.high, 3),
            "added_us": round(sample.median - base, 3),
        }
        for sample in samples
    ]
    # The median of the paired runs' ratios: on a loaded machine it moves far less than a ratio of medians.
    ratio = statistics.median(hit / floor for hit, floor in zip(fresh.runs_us, step.runs_us, strict=True))
    rows[-3].update(ratio_to_step=round(ratio, 2), goal=PIPELINE_GOAL, met=ratio <= PIPELINE_GOAL)
    return rows
