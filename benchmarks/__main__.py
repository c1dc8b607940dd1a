"""``python -m benchmarks``: Traffik's benchmark command.

Every figure stands beside its floor (the cheapest thing it could cost) and is
printed as a ratio to it: µs per direct hit (hot key and many keys), hits/s
with 50 concurrent tasks, HTTP overhead of a throttled FastAPI endpoint over
the same endpoint unthrottled (in-process ASGI and uvicorn), accuracy under
contention, store operations per hit and bytes per live key, and on Redis the
server's time per hit and uvicorn with 1 and 2 workers. A run ends with issue
#19's goals, each with its figure and whether this run met it. Runs are warmed
up, repeated and interleaved; medians are reported with their min-max.

``--backend`` picks ``memory``, ``redis``, ``memcached`` or any plugin backend
(servers are started on loopback unless ``--redis-url`` / ``--memcached`` /
``--url`` is given). ``--quick`` is the seconds-long CI smoke run; ``--json``
prints machine-readable results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from traffik.exceptions import ConfigurationError

from benchmarks._accuracy import contention
from benchmarks._flood import flood
from benchmarks._footprint import footprint
from benchmarks._goals import goals
from benchmarks._http import asgi_overhead
from benchmarks._inmemory import HitLatency, floor_latency, hit_latency
from benchmarks._native import native_benchmarks
from benchmarks._observers import observer_cost
from benchmarks._plugins import discovery_ms
from benchmarks._raw_redis import raw_evalsha_rate
from benchmarks._report import print_report
from benchmarks._scaling import scaling, usable_cores
from benchmarks._server_time import server_time
from benchmarks._strategies import CONTENDED_RATE, STRATEGIES, pick
from benchmarks._targets import Target, parse_memcached, provision
from benchmarks._throughput import CONCURRENT_TASKS, throughput
from benchmarks._timing import Sample, ratio, set_run_seconds
from benchmarks._uvicorn import uvicorn_overhead

SCENARIOS = (
    "latency",
    "observers",
    "throughput",
    "asgi",
    "uvicorn",
    "contention",
    "footprint",
    "native",
    "flood",
    "server-time",
    "scaling",
    "discovery",
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value <= 30:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 30 seconds, got {value}")
    return value


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Traffik's benchmarks: every figure beside its floor, as medians [min-max] and ratios to it.",
    )
    parser.add_argument(
        "--backend",
        action="append",
        help="memory, redis, memcached or a plugin backend's name; repeatable "
        "(default: memory, plus redis and memcached when their servers are installed; --quick: memory)",
    )
    parser.add_argument("--redis-url", help="use this Redis instead of starting one on loopback")
    parser.add_argument("--memcached", type=parse_memcached, help="host:port[,host:port] instead of starting two")
    parser.add_argument("--url", help="URL of a plugin backend named with --backend")
    parser.add_argument("--strategy", action="append", choices=list(STRATEGIES), help="repeatable; default: all")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="repeatable; default: all")
    parser.add_argument("--keys", type=_positive, action="append", help="key cardinalities (default: 1 and 10000)")
    parser.add_argument("--operations", type=_positive, default=100_000, help="in-memory hits per timed run")
    parser.add_argument("--repeats", type=_positive, default=5, help="timed runs per variant (median reported)")
    parser.add_argument(
        "--duration", type=_seconds, help="seconds per timed run, sizing every timed scenario (instead of the counts)"
    )
    parser.add_argument("--tasks", type=_positive, default=CONCURRENT_TASKS, help="concurrent tasks (throughput)")
    parser.add_argument("--requests", type=_positive, default=1_000, help="HTTP requests per timed run")
    parser.add_argument("--processes", type=_positive, default=4, help="worker processes (contention)")
    parser.add_argument("--quick", action="store_true", help="a seconds-long smoke run (CI)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    if args.quick:
        args.operations, args.repeats, args.requests, args.processes = 2_000, 2, 50, 2
        args.keys = args.keys or [1, 1_000]
    args.keys = args.keys or [1, 10_000]
    if args.backend is None:
        args.backend = ["memory"] if args.quick else ["memory", "redis", "memcached"]
        # Default backends whose server is not installed are skipped with a note, not an error.
        args.skip_missing = True
    else:
        args.skip_missing = False
    return args


def _latency_rows(latencies: list[HitLatency], floors: dict[int, Sample]) -> list[dict[str, Any]]:
    return [
        {
            "strategy": result.strategy,
            "keys": result.keys,
            "median_us": round(result.sample.median, 3),
            "min_us": round(result.sample.low, 3),
            "max_us": round(result.sample.high, 3),
            "floor_us": round(floors[result.keys].median, 3),
            "ratio_to_floor": ratio(result.sample.median, floors[result.keys].median),
        }
        for result in latencies
    ]


async def _measure(target: Target, args: argparse.Namespace, scenarios: set[str]) -> dict[str, Any]:
    strategies = pick(args.strategy)
    remote = target.name != "memory"
    # A network round trip costs ~50-100x an in-memory hit: fewer operations keep runs comparable in time.
    operations = max(50, args.operations // 50) if remote else args.operations
    result: dict[str, Any] = {}
    seconds: dict[str, float] = {}

    async def scenario(name: str, run: Callable[[], Awaitable[Any]]) -> None:
        if name in scenarios:
            started = time.perf_counter()
            value = await run()
            if value is not None:
                result[name] = value
                seconds[name] = round(time.perf_counter() - started, 1)

    async def latency() -> list[dict[str, Any]] | None:
        if remote:  # the plugins' own runs time sequential hits against their floors
            return None
        latencies = await hit_latency(strategies, args.keys, args.operations, args.repeats)
        return _latency_rows(latencies, await floor_latency(args.keys, args.operations, args.repeats))

    await scenario("latency", latency)
    # The pipeline's own cost with and without observers; the backend is in memory whatever --backend says.
    if not remote:
        await scenario("observers", lambda: observer_cost(args.operations, args.repeats))
    await scenario("throughput", lambda: throughput(target, strategies, operations, args.repeats, args.tasks))
    # Each remote hit adds a round trip to every request of the seven in-process variants: a
    # quarter as many keep a full run near ten minutes (the goals are the in-memory figures).
    requests = max(10, args.requests // 4) if remote else args.requests
    await scenario("asgi", lambda: asgi_overhead(target, requests, args.repeats))
    uvicorn_requests = args.requests if remote else 2 * args.requests
    await scenario("uvicorn", lambda: uvicorn_overhead(target, uvicorn_requests, args.repeats))
    await scenario("contention", lambda: contention(target, strategies, args.processes, 25, 4 * CONTENDED_RATE.limit))
    hits = 100 if args.quick else 500
    # Bytes per live key are an average over the keys: a thousand on a server is plenty.
    live_keys = min(max(args.keys), 1_000) if remote else max(args.keys)
    await scenario("footprint", lambda: footprint(target, strategies, hits, live_keys))
    # Round trips share the machine with the server: many short interleaved runs keep
    # a noisy neighbour from landing on one variant only.
    native_repeats = args.repeats if args.quick else 3 * args.repeats

    async def native() -> dict[str, Any] | None:
        section = await native_benchmarks(target, min(operations, 300), native_repeats)
        if section is not None and target.name == "redis" and target.redis_url is not None:
            # Beside the 50-task figures: one EVALSHA per round trip from a client that costs nothing.
            raw = await raw_evalsha_rate(target.redis_url, operations, native_repeats)
            if raw is not None:
                section["raw_socket_hits_per_s"] = raw
        return section

    await scenario("native", native)
    # Redis only: a flood of denied hits with and without the deny cache.
    await scenario("flood", lambda: flood(target, args.repeats, 2_000 if args.quick else 10_000))
    # Redis only: server time per hit (INFO commandstats) beside the `limits` library's. The
    # figure averages every hit of a run, so 10,000 a run are plenty: the spread between
    # runs comes from the machine's other work, not from the count.
    await scenario(
        "server-time", lambda: server_time(target, strategies, args.repeats, 2_000 if args.quick else 10_000)
    )
    # Redis only: uvicorn with 1 and 2 workers, requests/s throttled and not.
    await scenario("scaling", lambda: scaling(target, 1 if args.quick else 3, 0.5 if args.quick else 2.0))
    result["seconds"] = seconds
    return result


async def _run(args: argparse.Namespace, targets: list[Target], notes: list[str]) -> dict[str, Any]:
    scenarios = set(args.scenario or SCENARIOS)
    started = time.perf_counter()
    results: dict[str, Any] = {"backends": {}}
    for target in targets:
        results["backends"][target.name] = await _measure(target, args, scenarios)
    if "discovery" in scenarios:
        median, low, high = discovery_ms(3 if args.quick else 7)
        results["plugin_discovery_ms"] = {"median": round(median, 2), "min": round(low, 2), "max": round(high, 2)}
    results["notes"] = notes
    results["goals"] = goals(results)
    results["settings"] = {
        "operations": args.operations,
        "repeats": args.repeats,
        "tasks": args.tasks,
        "requests": args.requests,
        "duration": args.duration,
        "processes": args.processes,
        "quick": args.quick,
        "python": sys.version.split()[0],
        "cores": usable_cores(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    return results


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print them; the exit status is 2 on a configuration error."""
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    set_run_seconds(args.duration)
    try:
        with provision(
            args.backend,
            redis_url=args.redis_url,
            memcached=args.memcached or (),
            url=args.url,
            skip_missing=args.skip_missing,
        ) as (targets, notes):
            results = asyncio.run(_run(args, targets, notes))
    except ConfigurationError as exc:
        print(f"python -m benchmarks: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
