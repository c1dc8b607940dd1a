"""The flood scenario: clients far over their limit, with and without the local deny cache.

20 clients, each already over an hourly limit, send 10,000 hits between them (one
task per client, hits back to back) to a Redis backend. For each variant the run
reports Redis calls per denied hit (from ``INFO commandstats``: what the flood
costs the store; the goal with the cache is <= 0.05) and hits/s. A call is one hit
that reached Redis: a script (``EVALSHA``/``EVAL``), or FixedWindow's ``INCRBY``,
whose ``SET NX`` leaves before it in the same write. The floor is the same flood without
the cache: one call per hit.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from typing import TYPE_CHECKING, Any

from traffik.rates import Rate
from traffik.strategies import FixedWindow

from benchmarks._targets import Target
from benchmarks._timing import spread

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["FLOOD_CLIENTS", "FLOOD_HITS", "flood", "print_flood"]

FLOOD_CLIENTS = 20
FLOOD_HITS = 10_000
_RATE = Rate.parse("5/hour")  # an hour: no window ends during a run, every flood hit is denied
_names = itertools.count()


_HIT_COMMANDS = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_incrby")
"""One of these per hit that reached Redis (see the module docstring)."""


async def _hit_calls(redis: Redis) -> int:
    stats: dict[str, Any] = await redis.info("commandstats")
    return sum(int(stats.get(name, {}).get("calls", 0)) for name in _HIT_COMMANDS)


async def _run_once(url: str, deny_cache: bool, hits: int) -> tuple[float, float]:
    """One flood: (Redis script calls per denied hit, hits/s)."""
    from redis.asyncio import Redis  # not at import: the report prints without redis-py
    from traffik.backends.redis import RedisBackend

    backend = RedisBackend(url, namespace=f"bench-flood-{next(_names)}", deny_cache=deny_cache)
    await backend.initialize()
    stats = Redis.from_url(url)
    strategy = FixedWindow()
    try:
        clients = [f"client-{n}" for n in range(FLOOD_CLIENTS)]
        for client in clients:  # every client has spent its quota: the whole flood is denied
            for _ in range(_RATE.limit):
                await backend.hit(client, strategy, _RATE)
        per_client = hits // FLOOD_CLIENTS
        denied = 0

        async def send(client: str) -> None:
            nonlocal denied
            for _ in range(per_client):
                if not (await backend.hit(client, strategy, _RATE)).allowed:
                    denied += 1

        before = await _hit_calls(stats)
        started = time.perf_counter()
        await asyncio.gather(*(send(client) for client in clients))
        elapsed = time.perf_counter() - started
        calls = await _hit_calls(stats) - before
        return calls / max(denied, 1), per_client * FLOOD_CLIENTS / elapsed
    finally:
        await backend.clear()
        await backend.close()
        await stats.aclose()


async def flood(target: Target, repeats: int, hits: int = FLOOD_HITS) -> dict[str, Any] | None:
    """Redis calls per denied hit and hits/s, without and with the deny cache (median of ``repeats``)."""
    if target.name != "redis" or target.redis_url is None:
        return None
    runs: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(repeats):  # interleaved, so machine noise falls on both variants alike
        for deny_cache in (False, True):
            runs[deny_cache].append(await _run_once(target.redis_url, deny_cache, hits))
    rows = []
    for deny_cache, results in runs.items():
        rows.append(
            {
                "deny_cache": deny_cache,
                "calls_per_denied_hit": spread([calls for calls, _ in results], 4),
                "hits_per_s": spread([rate for _, rate in results], 0),
            }
        )
    without = statistics.median(rate for _, rate in runs[False])
    with_cache = statistics.median(rate for _, rate in runs[True])
    return {
        "clients": FLOOD_CLIENTS,
        "hits": hits // FLOOD_CLIENTS * FLOOD_CLIENTS,
        "goal_calls_per_denied_hit": 0.05,
        "rows": rows,
        "speedup": round(with_cache / without, 2) if without else None,
    }


def print_flood(section: dict[str, Any]) -> None:
    """The flood table of ``python -m benchmarks``."""
    print(
        f"  flood: {section['clients']} clients over their limit, {section['hits']} hits; "
        f"goal <= {section['goal_calls_per_denied_hit']} Redis calls per denied hit with the cache"
    )
    print(f"  {'deny cache':<12} {'Redis calls/denied hit [min-max]':>34} {'hits/s [min-max]':>30}")
    for row in section["rows"]:
        calls, rate = row["calls_per_denied_hit"], row["hits_per_s"]
        calls_text = f"{calls['median']:.4f} [{calls['min']:.4f}-{calls['max']:.4f}]"
        rate_text = f"{rate['median']:.0f} [{rate['min']:.0f}-{rate['max']:.0f}]"
        print(f"  {'on' if row['deny_cache'] else 'off':<12} {calls_text:>34} {rate_text:>30}")
    if section["speedup"] is not None:
        print(f"  hits/s with the cache: {section['speedup']:.2f}x without")
