"""A bounded soak: many hits over many keys on Redis and Memcached, with a fault every few seconds.

``python -m benchmarks.soak [--seconds 30] [--hits 300000] [--keys 10000]
[--backend redis|memcached|both] [--fault-every 3] [--json]``

Each backend gets a private server on loopback. Worker tasks hit random keys
through an :class:`~traffik.HTTPThrottle` (token bucket, ``--limit`` per
hour) while a fault task alternately kills and restarts the server, and
pauses (SIGSTOP) and resumes it. Every backend failure goes through an
``on_error`` policy that records the error class and fails open, so each hit
is either decided by the store or counted as an error.

The summary per backend: hits, admitted by the store vs the most the rate
allows (faults lose counters, so a restart may admit more: reported as excess),
errors by class, p50/p99/max latency, the faults injected, and the event loop's
worst lag (a probe task measures how late its timers fire: a hit's latency
past its timeout is this machine's, not the backend's). The run stops after
``--seconds`` or ``--hits``, whichever comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import contextvars
import json
import math
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from starlette.requests import HTTPConnection, Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.redis import RedisBackend
from traffik.exceptions import ConnectionThrottled
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.strategies import TokenBucket
from traffik.testing import MemcachedServer, RedisServer, ServerProcess

CALL_TIMEOUT = 0.3
"""Seconds a backend call may take before it counts as failed (the throttle's timer around a hit)."""
STORE_TIMEOUT = 0.25
"""Seconds each connect and command may take (the backend's own timeouts)."""
PAUSE_SECONDS = 0.5
"""How long a SIGSTOP fault lasts."""
LAG_PROBE_INTERVAL = 0.01
"""Seconds between the lag probe's timers."""

# Set by the error policy, read by the worker that awaited the failed hit.
_failed: contextvars.ContextVar[bool] = contextvars.ContextVar("soak_failed", default=False)


@dataclass
class SoakResult:
    """What one backend's soak measured."""

    backend: str
    seconds: float
    hits: int
    admitted: int
    throttled: int
    expected_max_admitted: int
    bound_with_resets: int
    excess_admitted: int
    errors: dict[str, int]
    faults: list[str]
    p50_ms: float
    p99_ms: float
    max_ms: float
    hits_per_second: float
    max_loop_lag_ms: float = 0.0
    """How late the event loop ran a timer at worst (``max_ms`` beyond the timeout is this lag)."""
    unexpected: list[str] = field(default_factory=list)


@dataclass
class _Tally:
    per_key: Counter[int] = field(default_factory=Counter)
    admitted_per_key: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _request(key: int) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [], "client": (f"k{key}", 1)})


def _make_backend(
    kind: str, server: ServerProcess, call_timeout: float | None, store_timeout: float
) -> ThrottleBackend:
    backend: ThrottleBackend
    if kind == "redis":
        backend = RedisBackend(
            server.url, namespace="soak", socket_timeout=store_timeout, connect_timeout=store_timeout
        )
    else:
        backend = MemcachedBackend(
            [server.address], namespace="soak", timeout=store_timeout, connect_timeout=store_timeout
        )
    # Both backends bound each step themselves (call_timeout None); a timer around the whole
    # hit on top makes "nothing hangs" checkable with one number.
    vars(backend)["call_timeout"] = call_timeout
    return backend


async def _probe_lag(stop: asyncio.Event, worst: list[float]) -> None:
    """Record in ``worst[0]`` how late a timer fired at worst: the event loop's lag under this load."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        due = loop.time() + LAG_PROBE_INTERVAL
        await asyncio.sleep(LAG_PROBE_INTERVAL)
        worst[0] = max(worst[0], loop.time() - due)


async def _faults(server: ServerProcess, every: float | None, stop: asyncio.Event, log: list[str]) -> None:
    kinds = ["kill", "pause"]
    n = 0
    while True:
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass
        kind = kinds[n % len(kinds)]
        n += 1
        if kind == "kill":
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(server.restart)
        else:
            await asyncio.to_thread(server.pause)
            await asyncio.sleep(PAUSE_SECONDS)
            await asyncio.to_thread(server.resume)
        log.append(kind)


async def soak_backend(
    kind: str,
    seconds: float,
    max_hits: int,
    keys: int,
    limit: int,
    fault_every: float,
    concurrency: int = 64,
    seed: int = 1,
    inject_faults: bool = True,
    call_timeout: float | None = CALL_TIMEOUT,
    store_timeout: float = STORE_TIMEOUT,
) -> SoakResult:
    """Soak one backend (``"redis"`` or ``"memcached"``) on a private server (no faults if not ``inject_faults``).

    ``call_timeout`` bounds each hit as a whole (``None``: only the backend's own bounds),
    ``store_timeout`` each connect and command.
    """
    server: ServerProcess = RedisServer() if kind == "redis" else MemcachedServer()
    server.start()
    backend = _make_backend(kind, server, call_timeout, store_timeout)
    tally = _Tally()

    async def on_error(connection: HTTPConnection, info: Any) -> str:
        tally.errors[type(info["exception"]).__name__] += 1
        _failed.set(True)  # same task as the worker awaiting the hit: it reads this flag back
        return "allow"

    rate = Rate.parse(f"{limit}/hour")
    throttle = HTTPThrottle(
        "soak",
        rate=rate,
        backend=backend,
        strategy=TokenBucket(),
        on_error=on_error,
        registry=ThrottleRegistry(),
        use_method=False,
    )
    rng = random.Random(seed)
    stop = asyncio.Event()
    issued = 0
    fault_log: list[str] = []

    async def worker() -> None:
        nonlocal issued
        while not stop.is_set():
            if issued >= max_hits:
                stop.set()
                return
            issued += 1
            key = rng.randrange(keys)
            _failed.set(False)
            started = time.perf_counter()
            try:
                await throttle.hit(_request(key))
            except ConnectionThrottled:
                tally.throttled += 1
            except Exception as exc:  # the soak's finding: nothing may escape the policy
                tally.unexpected.append(f"{type(exc).__name__}: {exc}")
            else:
                if not _failed.get():
                    tally.admitted_per_key[key] += 1
            tally.latencies.append(time.perf_counter() - started)
            tally.per_key[key] += 1

    await backend.initialize()
    started = time.perf_counter()
    worst_lag = [0.0]
    probe = asyncio.create_task(_probe_lag(stop, worst_lag))
    faults = asyncio.create_task(_faults(server, fault_every if inject_faults else None, stop, fault_log))
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        stop.set()
        await asyncio.gather(*workers)
        await faults
        await probe
    finally:
        stop.set()
        elapsed = time.perf_counter() - started
        await backend.close()
        server.stop()
    # A token bucket admits its burst, then refills limit per hour.
    allowance = limit + math.floor(limit * elapsed / 3_600)
    expected = sum(min(count, allowance) for count in tally.per_key.values())
    admitted = sum(tally.admitted_per_key.values())
    excess = sum(max(0, tally.admitted_per_key[key] - allowance) for key in tally.admitted_per_key)
    # A killed server restarts empty: each kill may give every key its allowance again, and no more.
    resets = fault_log.count("kill")
    bound_with_resets = sum(min(count, allowance * (resets + 1)) for count in tally.per_key.values())
    latencies = sorted(tally.latencies)
    hits = len(latencies)
    return SoakResult(
        backend=kind,
        seconds=round(elapsed, 2),
        hits=hits,
        admitted=admitted,
        throttled=tally.throttled,
        expected_max_admitted=expected,
        bound_with_resets=bound_with_resets,
        excess_admitted=excess,
        errors=dict(tally.errors),
        faults=fault_log,
        p50_ms=round(_percentile(latencies, 0.50) * 1000, 3),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 3),
        max_ms=round((latencies[-1] if latencies else 0.0) * 1000, 3),
        hits_per_second=round(hits / elapsed, 1) if elapsed else 0.0,
        max_loop_lag_ms=round(worst_lag[0] * 1000, 3),
        unexpected=tally.unexpected[:20],
    )


def _print(result: SoakResult) -> None:
    print(f"== {result.backend}: {result.hits:,} hits in {result.seconds} s ({result.hits_per_second:,.0f}/s)")
    print(f"   faults injected: {len(result.faults)} ({', '.join(result.faults) or 'none'})")
    print(
        f"   admitted by the store: {result.admitted:,} (rate allows at most {result.expected_max_admitted:,};"
        f" excess after lost counters: {result.excess_admitted:,}); throttled: {result.throttled:,}"
    )
    print(f"   bound counting a fresh start after each kill: {result.bound_with_resets:,}")
    errors = ", ".join(f"{name} {count:,}" for name, count in sorted(result.errors.items())) or "none"
    print(f"   errors by class (failed open): {errors}")
    print(f"   latency ms: p50 {result.p50_ms}  p99 {result.p99_ms}  max {result.max_ms}")
    print(f"   event loop lag ms (worst timer delay): {result.max_loop_lag_ms}")
    if result.unexpected:
        print(f"   UNHANDLED: {len(result.unexpected)} e.g. {result.unexpected[0]}")


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print a summary; exit 1 if an exception escaped the error policy."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit per backend (default 30)")
    parser.add_argument("--hits", type=int, default=300_000, help="hit limit per backend (default 300000)")
    parser.add_argument("--keys", type=int, default=10_000, help="distinct keys (default 10000)")
    parser.add_argument("--limit", type=int, default=5, help="hits per key per hour (default 5)")
    parser.add_argument("--fault-every", type=float, default=3.0, help="seconds between faults (default 3)")
    parser.add_argument("--backend", choices=["redis", "memcached", "both"], default="both")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.hits < 1 or args.keys < 1 or args.limit < 1 or args.fault_every <= 0:
        parser.error("--seconds, --hits, --keys, --limit and --fault-every must be positive")
    kinds = ["redis", "memcached"] if args.backend == "both" else [args.backend]
    results = [
        asyncio.run(soak_backend(kind, args.seconds, args.hits, args.keys, args.limit, args.fault_every))
        for kind in kinds
    ]
    if args.json:
        print(json.dumps([asdict(result) for result in results], indent=2))
    else:
        for result in results:
            _print(result)
    return 1 if any(result.unexpected for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
