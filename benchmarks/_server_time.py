"""The server-time scenario: what one hit costs the Redis server, per strategy, beside the `limits` library.

When many app processes share one Redis, the server's time per hit decides how
many hits a Redis core carries. Each run sends ``hits`` hits from 50 tasks over
1,000 keys at 100/min (server ``TIME``, every key warmed by one hit first so the
measured hits meet a live window, all of them admitted), after ``CONFIG
RESETSTAT``, then reads ``INFO commandstats``: the server's time per hit and
commands per hit. A hit that runs a script costs its ``EVALSHA`` time (the
commands the script runs are counted inside it and again on their own lines, so
those are not added); a hit made of plain commands (our FixedWindow: ``SET NX``
and ``INCRBY``) costs the sum of their times. The `limits` library's fixed
window, sliding window counter and moving window run the same way (its redis-py
storage), interleaved with ours so machine noise falls on both alike; medians of
the runs are reported. Goal: at most the `limits` figure for the same algorithm,
and FixedWindow at most 5 µs.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from traffik.rates import Rate
from traffik.strategies._base import ThrottleStrategy

from benchmarks._targets import Target
from benchmarks._timing import spread

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["FIXED_WINDOW_GOAL_US", "LIMITS_ALGORITHMS", "print_server_time", "server_time"]

FIXED_WINDOW_GOAL_US = 5.0
TASKS = 50
KEYS = 1_000
RATE = Rate(limit=100, minutes=1)
LIMITS_ALGORITHMS = {
    "FixedWindow": "FixedWindowRateLimiter",
    "SlidingWindowCounter": "SlidingWindowCounterRateLimiter",
    "SlidingWindowLog": "MovingWindowRateLimiter",
}
"""Our strategy -> the `limits` limiter of the same algorithm."""
_names = itertools.count()


_NOT_HITS = (
    "cmdstat_config",
    "cmdstat_info",
    "cmdstat_hello",
    "cmdstat_auth",
    "cmdstat_select",
    "cmdstat_client",
    "cmdstat_script",
    "cmdstat_ping",
)
"""Commands of the measuring itself and of connecting: not part of any hit."""
_SCRIPTS = ("cmdstat_evalsha", "cmdstat_eval")


async def _stats(redis: Redis, hits: int) -> tuple[float, float]:
    """(server µs per hit, commands per hit) since the last reset, as the module docstring counts them."""
    stats: dict[str, Any] = await redis.info("commandstats")
    counted = {name: row for name, row in stats.items() if not name.startswith(_NOT_HITS)}
    if any(name in counted for name in _SCRIPTS):
        counted = {name: row for name, row in counted.items() if name in _SCRIPTS}
    usec = sum(float(row["usec"]) for row in counted.values())
    calls = sum(int(row["calls"]) for row in counted.values())
    return usec / hits, calls / hits


async def _measured(redis: Redis, hit: Callable[[str], Awaitable[Any]], hits: int) -> tuple[float, float]:
    """Warm every key, reset the stats, send ``hits`` hits from :data:`TASKS` tasks, read the stats."""
    keys = [f"k{index}" for index in range(KEYS)]

    async def warm(offset: int) -> None:
        for key in keys[offset::TASKS]:
            await hit(key)

    await asyncio.gather(*(warm(offset) for offset in range(TASKS)))
    per_task = max(1, hits // TASKS)

    async def task(offset: int) -> None:
        for i in range(per_task):
            await hit(keys[(offset + i * TASKS) % KEYS])

    await redis.config_resetstat()
    await asyncio.gather(*(task(offset) for offset in range(TASKS)))
    return await _stats(redis, per_task * TASKS)


async def _ours(url: str, redis: Redis, strategy: ThrottleStrategy, hits: int) -> tuple[float, float]:
    from traffik.backends.redis import RedisBackend  # not at import: the report prints without redis-py

    backend = RedisBackend(url, namespace=f"bench-server-time-{next(_names)}", persistent=True)
    await backend.initialize()
    try:
        return await _measured(redis, lambda key: backend.hit(key, strategy, RATE), hits)
    finally:
        await backend.clear()
        await backend.close()


async def _theirs(url: str, redis: Redis, limiter_name: str, hits: int) -> tuple[float, float]:
    from limits import RateLimitItemPerMinute
    from limits.aio import strategies
    from limits.aio.storage import RedisStorage

    storage = RedisStorage(f"async+{url}", implementation="redispy")
    limiter = getattr(strategies, limiter_name)(storage)
    item = RateLimitItemPerMinute(RATE.limit)
    run = f"bench-server-time-{next(_names)}"
    try:
        return await _measured(redis, lambda key: limiter.hit(item, run, key), hits)
    finally:
        await storage.reset()
        bridge: Any = storage.bridge
        await bridge.storage.aclose()  # its redis-py client: `limits` never closes it


async def server_time(target: Target, strategies: dict[str, ThrottleStrategy], repeats: int, hits: int) -> Any:
    """Per strategy: our server µs and commands per hit beside `limits`' (medians of ``repeats``)."""
    if target.name != "redis" or target.redis_url is None:
        return None
    from redis.asyncio import Redis

    try:
        import limits  # noqa: F401  (a test-only dependency: without it, our figures alone)
    except ImportError:
        has_limits = False
    else:
        has_limits = True
    redis = Redis.from_url(target.redis_url)
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    try:
        for _ in range(repeats):  # interleaved: ours then theirs, strategy by strategy
            for name, strategy in strategies.items():
                runs.setdefault((name, "traffik"), []).append(await _ours(target.redis_url, redis, strategy, hits))
                if has_limits and name in LIMITS_ALGORITHMS:
                    measured = await _theirs(target.redis_url, redis, LIMITS_ALGORITHMS[name], hits)
                    runs.setdefault((name, "limits"), []).append(measured)
    finally:
        await redis.aclose()
    rows = []
    for name in strategies:
        row: dict[str, Any] = {"strategy": name}
        for who in ("traffik", "limits"):
            results = runs.get((name, who))
            if results:
                row[f"{who}_server_us"] = spread([usec for usec, _ in results], 2)
                row[f"{who}_commands_per_hit"] = max(calls for _, calls in results)
        rows.append(row)
    return {
        "hits": hits // TASKS * TASKS,
        "tasks": TASKS,
        "keys": KEYS,
        "rate": str(RATE),
        "goal_fixed_window_us": FIXED_WINDOW_GOAL_US,
        "rows": rows,
    }


def _figure(row: dict[str, Any], name: str) -> str:
    figure = row.get(name)
    if figure is None:
        return "-"
    return f"{figure['median']:.2f} [{figure['min']:.2f}-{figure['max']:.2f}]"


def print_server_time(section: dict[str, Any]) -> None:
    """The server-time table of ``python -m benchmarks``."""
    print(
        f"  Redis server time per hit (INFO commandstats; {section['tasks']} tasks, {section['keys']} keys, "
        f"{section['rate']}, server TIME, {section['hits']} hits a run); goal: <= limits' for the same "
        f"algorithm, FixedWindow <= {section['goal_fixed_window_us']} µs"
    )
    print(f"  {'strategy':<22} {'server µs [min-max]':>24} {'cmds/hit':>9} {'limits µs [min-max]':>24} {'cmds/hit':>9}")
    for row in section["rows"]:
        ours, theirs = _figure(row, "traffik_server_us"), _figure(row, "limits_server_us")
        calls = (row.get("traffik_commands_per_hit", "-"), row.get("limits_commands_per_hit", "-"))
        print(f"  {row['strategy']:<22} {ours:>24} {calls[0]!s:>9} {theirs:>24} {calls[1]!s:>9}")
