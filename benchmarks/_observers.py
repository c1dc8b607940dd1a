"""µs per ``await throttle.hit(request)`` (the whole pipeline, in memory) with and without observers.

The variants run interleaved in one process, so they share the machine's
noise: ``none`` (no observer registered: the hit builds no event and reads no
clock), ``no-op`` (one :class:`~traffik.events.Observer` whose methods do
nothing: the cost of building and dispatching an event), and any observer
added to :data:`OBSERVER_FACTORIES` (a metrics distribution's observer).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from traffik.backends.inmemory import InMemoryBackend
from traffik.events import Observer
from traffik.events._dispatch import DISPATCH
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
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
            start = time.perf_counter()
            for _ in range(n):
                await hit(request)
            return time.perf_counter() - start
        finally:
            DISPATCH.observers = saved

    return run


async def observer_cost(operations: int, repeats: int) -> list[dict[str, object]]:
    """One row per variant of :data:`OBSERVER_FACTORIES`: µs per hit and the difference to ``none``."""
    DISPATCH.plugins_loaded = True  # time the observers named here, not whatever is installed
    variants = [(name, _runner(factory())) for name, factory in OBSERVER_FACTORIES.items()]
    samples: list[Sample] = await measure_interleaved(variants, operations, repeats)
    base = samples[0].median
    return [
        {
            "observer": sample.name,
            "median_us": round(sample.median, 3),
            "min_us": round(sample.low, 3),
            "max_us": round(sample.high, 3),
            "added_us": round(sample.median - base, 3),
        }
        for sample in samples
    ]
