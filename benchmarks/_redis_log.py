"""SlidingWindowLog on Redis: µs per hit as the log grows (10, 1,000 and 10,000 live entries).

The log keeps one entry per distinct hit time, so a busy key at a high limit
holds many. A hit should cost the same whatever their number (the goal: flat
within 2x from 10 to 10,000 entries). Each length gets its own key and clock:

* **admitted**: a window of ``length`` ms, a limit of ``length``, one hit per
  ms (the clock advances 1 ms before each): every hit is admitted, one entry
  expires and one is logged, so the log stays ``length`` entries long;
* **denied**: the same key without advancing the clock: the log is full, so
  every hit is denied and its wait is worked out from the log.

Filling a log takes ``length`` sequential hits. ``python -m benchmarks._redis_log``
runs it on a private ``redis-server`` and prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, Final

from traffik.backends.redis import RedisBackend
from traffik.clock import ManualClock
from traffik.rates import Rate
from traffik.strategies import SlidingWindowLog

from benchmarks._timing import measure_interleaved

__all__ = ["LOG_LENGTHS", "log_length_benchmarks"]

LOG_LENGTHS: Final = (10, 1_000, 10_000)
_START_MS: Final = 1_700_000_000_000.0
_NAMESPACE: Final = "bench-log"

_Runner = Any  # Callable[[int], Awaitable[float]]


async def _filled(backend: RedisBackend, clock: ManualClock, key: str, length: int) -> Rate:
    """Log ``length`` entries one ms apart on ``key``; the rate that keeps it that long."""
    rate = Rate(limit=length, milliseconds=length)
    strategy = SlidingWindowLog()
    for _ in range(length):
        clock.advance(1.0)
        decision = await backend.hit(key, strategy, rate)
        assert decision.allowed, f"filling a log of {length}: a hit was denied"
    return rate


def _runner(backend: RedisBackend, clock: ManualClock, key: str, rate: Rate, *, admitted: bool) -> _Runner:
    strategy = SlidingWindowLog()

    async def run(n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            if admitted:
                clock.advance(1.0)
            decision = await backend.hit(key, strategy, rate)
            assert decision.allowed is admitted, f"expected allowed={admitted} on a log of {rate.limit}"
        return time.perf_counter() - start

    return run


async def log_length_benchmarks(url: str, operations: int, repeats: int) -> dict[str, Any]:
    """µs per admitted and per denied SlidingWindowLog hit at each of :data:`LOG_LENGTHS`.

    Returns:
        ``{"<length>": {"admitted_us": ..., "denied_us": ...}, ..., "flatness": ...}``
        where ``flatness`` is the slowest length's median over the fastest's, per kind.
    """
    backends: list[RedisBackend] = []
    variants = []
    try:
        for length in LOG_LENGTHS:
            clock = ManualClock(_START_MS)
            backend = RedisBackend(url, namespace=_NAMESPACE, clock=clock, clock_margin_ms=3_600_000)
            backends.append(backend)
            key = f"log-{length}"
            rate = await _filled(backend, clock, key, length)
            variants.append((f"admitted-{length}", _runner(backend, clock, key, rate, admitted=True)))
            variants.append((f"denied-{length}", _runner(backend, clock, key, rate, admitted=False)))
        samples = {sample.name: sample for sample in await measure_interleaved(variants, operations, repeats)}
    finally:
        if backends:
            await backends[0].clear()
        for backend in backends:
            await backend.close()
    result: dict[str, Any] = {
        str(length): {kind + "_us": round(samples[f"{kind}-{length}"].median, 1) for kind in ("admitted", "denied")}
        for length in LOG_LENGTHS
    }
    result["flatness"] = {
        kind: round(
            max(samples[f"{kind}-{n}"].median for n in LOG_LENGTHS)
            / min(samples[f"{kind}-{n}"].median for n in LOG_LENGTHS),
            2,
        )
        for kind in ("admitted", "denied")
    }
    return result


def _main(argv: list[str]) -> None:
    from traffik.testing import RedisServer

    operations = int(argv[0]) if argv else 300
    repeats = int(argv[1]) if len(argv) > 1 else 5
    with RedisServer() as server:
        print(json.dumps(asyncio.run(log_length_benchmarks(server.url, operations, repeats)), indent=2))


if __name__ == "__main__":
    _main(sys.argv[1:])
