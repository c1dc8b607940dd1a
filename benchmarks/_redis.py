"""Redis scenarios: round trips and server commands per hit, µs per sequential hit, hits/s with 50 tasks.

Every figure sits beside the floor: a bare ``EVALSHA`` of a trivial script
(``return 1``) through the same client, i.e. the cost of one round trip with
no work in it. The backend sends its hits, packed mostly in advance, on
connections it keeps out of the client's pool (skipping redis-py's
per-command checkout and argument packing), so the same bare ``EVALSHA``
sent that way is reported too, as ``kept_floor``: the ratio to it is what
the scripts themselves cost. Hits are auto-pipelined by default; for
:data:`PIPELINING_COMPARED` the same figures with ``auto_pipeline=False`` (a
connection per hit in flight) sit beside them (``unpipelined_*`` columns).
Hits/s with 50 tasks are measured in rounds, each running the floor and every
variant once; a ratio to the floor is the median of the rounds' ratios.
``python -m benchmarks._redis`` runs it on a private ``redis-server`` and prints JSON.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from redis.asyncio import Redis
from traffik.backends.redis import RedisBackend
from traffik.backends.redis._commands import command
from traffik.backends.redis._connections import KeptConnections
from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy

from benchmarks._redis_log import log_length_benchmarks
from benchmarks._strategies import STRATEGIES
from benchmarks._timing import measure_interleaved
from tests.wire import recorded_writes, redis_commands

__all__ = ["STRATEGIES", "redis_benchmarks"]


# High enough that hits keep being admitted (the writing path) for the whole run,
# low enough that SlidingWindowLog's per-key log stays realistic.
RATE: Final = Rate(limit=10**9, minutes=1)
LOG_RATE: Final = Rate(limit=100, seconds=1)
KEYS: Final = 1_000
TASKS: Final = 50
COUNTED_HITS: Final = 200
PIPELINING_COMPARED: Final = ("FixedWindow", "GCRA")
"""Strategies also measured with ``auto_pipeline=False``, beside the default."""
_FLOOR_SCRIPT: Final = "return 1"

Runner = Callable[[int], Awaitable[float]]


def _rate(name: str) -> Rate:
    return LOG_RATE if name == "SlidingWindowLog" else RATE


def _keys() -> list[str]:
    return [f"api:v1:203.0.{i // 256 % 256}.{i % 256}:GET:/items" for i in range(KEYS)]


def _sequential(backend: RedisBackend, strategy: ThrottleStrategy, rate: Rate, keys: list[str]) -> Runner:
    async def run(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await backend.hit(keys[i % KEYS], strategy, rate)
        return time.perf_counter() - start

    return run


def _floor(client: Redis, sha: str, keys: list[str]) -> Runner:
    async def run(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await client.evalsha(sha, 1, keys[i % KEYS])
        return time.perf_counter() - start

    return run


def _kept_floor(kept: KeptConnections, sha: str, keys: list[str]) -> Runner:
    sha_bytes = sha.encode()

    async def run(n: int) -> float:
        start = time.perf_counter()
        for i in range(n):
            await kept.call(command(b"EVALSHA", sha_bytes, b"1", keys[i % KEYS].encode()))
        return time.perf_counter() - start

    return run


def _hitter(backend: RedisBackend, strategy: ThrottleStrategy, rate: Rate) -> Callable[[str], Awaitable[Any]]:
    async def hit(key: str) -> Any:
        return await backend.hit(key, strategy, rate)

    return hit


async def _concurrent(call: Callable[[str], Awaitable[Any]], keys: list[str], operations: int) -> float:
    """Hits per second with :data:`TASKS` tasks sharing ``operations`` calls, each task on its own keys."""
    per_task = max(1, operations // TASKS)

    async def task(offset: int) -> None:
        for i in range(per_task):
            await call(keys[(offset + i * TASKS) % KEYS])

    start = time.perf_counter()
    await asyncio.gather(*(task(offset) for offset in range(TASKS)))
    return per_task * TASKS / (time.perf_counter() - start)


async def _concurrent_rounds(
    client: Redis,
    sha: str,
    backend: RedisBackend,
    unpipelined: RedisBackend,
    keys: list[str],
    operations: int,
    repeats: int,
) -> dict[str, list[float]]:
    """Hits/s with :data:`TASKS` tasks, per variant and round: the floor, every strategy, the unpipelined ones.

    Each round runs every variant once, so a ratio to the floor is taken within a round,
    on the machine as it was then (a shared machine's speed drifts between rounds).
    """
    callers: dict[str, Callable[[str], Awaitable[Any]]] = {"floor": lambda key: client.evalsha(sha, 1, key)}
    callers.update((name, _hitter(backend, strategy, _rate(name))) for name, strategy in STRATEGIES.items())
    callers.update(
        (f"unpipelined {name}", _hitter(unpipelined, STRATEGIES[name], _rate(name))) for name in PIPELINING_COMPARED
    )
    rounds: dict[str, list[float]] = {name: [] for name in callers}
    for _ in range(repeats):
        for name, call in callers.items():
            rounds[name].append(await _concurrent(call, keys, operations))
    return rounds


def _paired_ratio(rates: list[float], floors: list[float]) -> float:
    """The median of the rounds' ratios to the floor measured in the same round."""
    return statistics.median(rate / floor for rate, floor in zip(rates, floors, strict=True))


async def _commands_per_hit(
    client: Redis, backend: RedisBackend, strategy: ThrottleStrategy, rate: Rate
) -> tuple[float, float, dict[str, float]]:
    """(round trips per hit seen by the client, commands per hit executed by the server, per command).

    Round trips are the writes to a socket that carry commands (the hits are sent one
    after another, so a hit's commands leave in its own writes), counted where bytes
    leave the client whichever path sent them. FixedWindow's ``SET NX`` and ``INCRBY``
    leave in one write: one round trip, two server commands.
    """
    before = await client.info("commandstats")
    with recorded_writes() as writes:
        for i in range(COUNTED_HITS):
            await backend.hit(f"count-{i % 10}", strategy, rate)
    round_trips = sum(1 for data in writes if redis_commands(data))
    after = await client.info("commandstats")
    deltas = {
        name.removeprefix("cmdstat_"): stats["calls"] - before.get(name, {"calls": 0})["calls"]
        for name, stats in after.items()
        if name != "cmdstat_info"
    }
    per_command = {name: calls / COUNTED_HITS for name, calls in sorted(deltas.items()) if calls}
    return round_trips / COUNTED_HITS, sum(deltas.values()) / COUNTED_HITS, per_command


def _unpipelined(unpipelined_us: float, pipelined_us: float) -> dict[str, float]:
    """The sequential figure with a connection per hit, and how the pipelined one compares (goal: within 10%)."""
    return {
        "unpipelined_median_us": round(unpipelined_us, 1),
        "sequential_vs_unpipelined": round(pipelined_us / unpipelined_us, 2),
    }


async def redis_benchmarks(url: str, operations: int, repeats: int) -> dict[str, Any]:
    """Measure every strategy on the Redis at ``url`` (keys under the ``bench`` namespace, cleared after).

    Returns:
        ``{"strategies": {name: {...}}, "floor": {...}, "settings": {...}}`` where each
        strategy has ``round_trips_per_hit``, ``server_commands_per_hit``,
        ``commands`` (server commands per hit, by name), ``median_us``/``min_us``/``max_us``
        per sequential hit, ``ratio_to_floor`` and ``concurrent_hits_per_s``.
    """
    client = Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
    backend = RedisBackend(client, namespace="bench")
    # Its own client: its connections per hit in flight must not starve the floor's pool.
    unpipelined_client = Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
    unpipelined = RedisBackend(unpipelined_client, namespace="bench", auto_pipeline=False)
    kept = KeptConnections(client.connection_pool, limit=1)
    keys = _keys()
    try:
        sha = await client.script_load(_FLOOR_SCRIPT)
        for name, strategy in STRATEGIES.items():  # loads every script before anything is measured
            await backend.hit("warm-up", strategy, _rate(name))
        counts = {
            name: await _commands_per_hit(client, backend, strategy, _rate(name))
            for name, strategy in STRATEGIES.items()
        }
        variants = [("floor", _floor(client, sha, keys)), ("kept_floor", _kept_floor(kept, sha, keys))] + [
            (name, _sequential(backend, strategy, _rate(name), keys)) for name, strategy in STRATEGIES.items()
        ]
        variants += [
            (f"unpipelined {name}", _sequential(unpipelined, STRATEGIES[name], _rate(name), keys))
            for name in PIPELINING_COMPARED
        ]
        samples = {sample.name: sample for sample in await measure_interleaved(variants, operations, repeats)}
        floor_us = samples["floor"].median
        rounds = await _concurrent_rounds(client, sha, backend, unpipelined, keys, operations, repeats)
        floor_rate = statistics.median(rounds["floor"])
        results: dict[str, Any] = {}
        for name in STRATEGIES:
            concurrent = statistics.median(rounds[name])
            round_trips, server_commands, per_command = counts[name]
            sample = samples[name]
            results[name] = {
                "round_trips_per_hit": round(round_trips, 3),
                "server_commands_per_hit": round(server_commands, 3),
                "commands": per_command,
                "median_us": round(sample.median, 1),
                "min_us": round(sample.low, 1),
                "max_us": round(sample.high, 1),
                "ratio_to_floor": round(sample.median / floor_us, 2),
                "ratio_to_kept_floor": round(sample.median / samples["kept_floor"].median, 2),
                "concurrent_hits_per_s": round(concurrent),
                "concurrent_ratio_to_floor": round(_paired_ratio(rounds[name], rounds["floor"]), 2),
            }
            if name in PIPELINING_COMPARED:
                results[name].update(_unpipelined(samples[f"unpipelined {name}"].median, sample.median))
                unpipelined_rounds = rounds[f"unpipelined {name}"]
                results[name]["unpipelined_hits_per_s"] = round(statistics.median(unpipelined_rounds))
                results[name]["unpipelined_ratio_to_floor"] = round(
                    _paired_ratio(unpipelined_rounds, rounds["floor"]), 2
                )
        by_length = await log_length_benchmarks(url, operations, repeats)
        return {
            "strategies": results,
            "sliding_window_log_by_length": by_length,
            "floor": {
                "median_us": round(floor_us, 1),
                "min_us": round(samples["floor"].low, 1),
                "max_us": round(samples["floor"].high, 1),
                "concurrent_hits_per_s": round(floor_rate),
            },
            "kept_floor": {
                "median_us": round(samples["kept_floor"].median, 1),
                "min_us": round(samples["kept_floor"].low, 1),
                "max_us": round(samples["kept_floor"].high, 1),
            },
            "settings": {"operations": operations, "repeats": repeats, "tasks": TASKS, "keys": KEYS},
        }
    finally:
        await kept.release_all()
        await backend.clear()
        await unpipelined.close()
        await unpipelined_client.aclose()
        await client.aclose()


def _main(argv: list[str]) -> None:
    from traffik.testing import RedisServer

    operations = int(argv[0]) if argv else 5_000
    repeats = int(argv[1]) if len(argv) > 1 else 5
    with RedisServer() as server:
        print(json.dumps(asyncio.run(redis_benchmarks(server.url, operations, repeats)), indent=2))


if __name__ == "__main__":
    _main(sys.argv[1:])
