"""The throughput goals (issue #19's "Performance"), each read from one run's results, met or not.

:func:`goals` turns what ``python -m benchmarks --json`` prints into one line
per goal: the figure of this run beside its floor or goal, and the verdict
(``met``, ``NOT met``, ``not measured`` when the run left the scenario or the
backend out, ``-`` where the issue asks for a figure without a goal). It reads
the results defensively, since every scenario module owns its section's shape:
a figure that is not there reads "not measured", never an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

__all__ = ["PIPELINED_MIN_RATIO", "SEQUENTIAL_MAX_RATIO", "goals", "print_goals"]

PIPELINED_MIN_RATIO: Final = 3.0
"""Redis, 50 tasks: hits/s at least this many times a bare ``EVALSHA`` through redis-py."""
SEQUENTIAL_MAX_RATIO: Final = 1.10
"""Redis, one hit at a time: auto-pipelined µs at most this many times ``auto_pipeline=False``'s."""
_PIPELINED_STRATEGIES: Final = ("FixedWindow", "GCRA")
_NOT_MEASURED: Final = "not measured"
_NATIVE: Final = ("redis", "native")
_SERVER_TIME: Final = ("redis", "server-time")


def _get(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or ``None`` where a step is missing."""
    for step in path:
        if not isinstance(data, dict) or step not in data:
            return None
        data = data[step]
    return data


def _median(figure: Any) -> float | None:
    """A figure's median, whether it is a number or ``{"median", "min", "max"}``."""
    if isinstance(figure, dict):
        figure = figure.get("median")
    return float(figure) if isinstance(figure, (int, float)) else None


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _goal(where: tuple[str, str], goal: str, figure: str | None, met: bool | None) -> dict[str, str]:
    """One goal of scenario ``where[1]`` on backend ``where[0]``: its figure and verdict."""
    backend, scenario = where
    verdict = _NOT_MEASURED if figure is None else "-" if met is None else _verdict(met)
    return {"backend": backend, "scenario": scenario, "goal": goal, "figure": figure or "-", "verdict": verdict}


def _redis_pipelining(native: Any) -> Iterator[dict[str, str]]:
    floor = _median(_get(native, "floor", "concurrent_hits_per_s"))
    raw = _median(_get(native, "raw_socket_hits_per_s"))
    for name in _PIPELINED_STRATEGIES:
        row = _get(native, "strategies", name)
        hits, ratio = _get(row, "concurrent_hits_per_s"), _get(row, "concurrent_ratio_to_floor")
        figure = None
        if isinstance(hits, (int, float)) and isinstance(ratio, (int, float)) and floor:
            figure = f"{hits:,.0f}/s = {ratio:.2f}x the floor's {floor:,.0f}/s"
            unpipelined = _get(row, "unpipelined_hits_per_s")
            if isinstance(unpipelined, (int, float)):
                figure += f"; auto_pipeline=False {unpipelined:,.0f}/s"
            figure += f"; raw socket {raw:,.0f}/s" if raw else "; raw socket not measured"
        yield _goal(
            _NATIVE,
            f"{name}, 50 tasks: hits/s >= {PIPELINED_MIN_RATIO:.0f}x a bare EVALSHA (redis-py)",
            figure,
            figure is not None and ratio >= PIPELINED_MIN_RATIO,
        )
    for name in _PIPELINED_STRATEGIES:
        row = _get(native, "strategies", name)
        versus, alone = _get(row, "sequential_vs_unpipelined"), _get(row, "unpipelined_median_us")
        figure = None
        if isinstance(versus, (int, float)) and isinstance(alone, (int, float)):
            figure = f"{_get(row, 'median_us')} µs vs {alone} µs = {versus:.2f}x"
        yield _goal(
            _NATIVE,
            f"{name}, sequential hit: auto-pipelined <= {SEQUENTIAL_MAX_RATIO:.2f}x auto_pipeline=False",
            figure,
            figure is not None and versus <= SEQUENTIAL_MAX_RATIO,
        )


def _server_time(section: Any) -> Iterator[dict[str, str]]:
    rows = _get(section, "rows")
    goal_us = _median(_get(section, "goal_fixed_window_us")) or 5.0
    if not isinstance(rows, list):
        yield _goal(_SERVER_TIME, "server time per hit (µs) <= the `limits` library's, same algorithm", None, None)
        yield _goal(_SERVER_TIME, f"FixedWindow server time per hit <= {goal_us:g} µs", None, None)
        return
    alone = []
    for row in rows:
        ours, theirs = _median(_get(row, "traffik_server_us")), _median(_get(row, "limits_server_us"))
        if ours is not None and theirs is not None:
            figure = f"{ours:.2f} µs vs limits' {theirs:.2f} µs"
            yield _goal(_SERVER_TIME, f"{row['strategy']} server time <= limits'", figure, ours <= theirs)
        elif ours is not None:
            alone.append(f"{row['strategy']} {ours:.2f}")
    if alone:
        # The alternative has no algorithm of the same kind: the figure stands alone.
        yield _goal(_SERVER_TIME, "server time, strategies without an alternative (µs)", ", ".join(alone), None)
    fixed = next((row for row in rows if row.get("strategy") == "FixedWindow"), None)
    fixed_us = _median(_get(fixed, "traffik_server_us"))
    yield _goal(
        _SERVER_TIME,
        f"FixedWindow server time per hit <= {goal_us:g} µs",
        None if fixed_us is None else f"{fixed_us:.2f} µs",
        fixed_us is not None and fixed_us <= goal_us,
    )


def _pipeline(observers: Any) -> dict[str, str]:
    row = next((row for row in observers or () if isinstance(row, dict) and "goal" in row), None)
    goal = "HTTPThrottle.hit() in memory (fresh request) <= 1.5x the backend step"
    if row is None:
        return _goal(("memory", "observers"), goal, None, None)
    figure = f"{row['ratio_to_step']:.2f}x ({row['median_us']:.2f} µs a hit)"
    return _goal(("memory", "observers"), goal.replace("1.5", f"{row['goal']:g}"), figure, bool(row["met"]))


def _http(asgi: Any) -> Iterator[dict[str, str]]:
    modes = _get(asgi, "modes")
    for mode, floor in (
        ("FastThrottledRoute", "the unthrottled endpoint"),
        ("Depends(throttle)", "a no-op dependency"),
    ):
        goal = _get(modes, mode, "goal")
        text = f"HTTP in-process, {mode}: requests/s lost <= 3% against {floor}"
        if not isinstance(goal, dict):
            yield _goal(("memory", "asgi"), text, None, None)
            continue
        text = text.replace("3%", f"{goal['max_lost_share']:.0%}")
        yield _goal(("memory", "asgi"), text, f"{goal['lost_share']:.2%}", bool(goal["met"]))


def _memcached(throughput: Any) -> dict[str, str]:
    versus = _get(throughput, "versus")
    goal = "Memcached, 50 tasks, FixedWindow: hits/s >= the best alternative's"
    pairs = [pair for pair in versus or () if isinstance(pair, dict) and pair.get("ours") == "FixedWindow"]
    if not pairs:
        return _goal(("memcached", "throughput"), goal, None, None)
    worst = min(pairs, key=lambda pair: float(pair["ratio"]))
    return _goal(
        ("memcached", "throughput"), goal, f"{worst['ratio']:.2f}x {worst['theirs']}'s", float(worst["ratio"]) >= 1
    )


def _scaling(section: Any) -> dict[str, str]:
    rows = _get(section, "rows")
    goal = "uvicorn 1 and 2 workers on one Redis, throttled vs unthrottled (a table, no goal)"
    if not isinstance(rows, list) or not rows:
        return _goal(("redis", "scaling"), goal, None, None)
    cells = [
        f"{row['workers']} worker(s): {row['throttled_ratio']:.2f} of unthrottled, "
        f"{_median(row['throttled_requests_per_s']):,.0f} req/s"
        for row in rows
    ]
    return _goal(("redis", "scaling"), goal, "; ".join(cells) + f" ({section['cores']} cores)", None)


def goals(results: dict[str, Any]) -> list[dict[str, str]]:
    """Every goal of issue #19's "Performance" with this run's figure and verdict, in the issue's order.

    Each item is ``{"backend", "scenario", "goal", "figure", "verdict"}``.
    """
    backends = results.get("backends", {})
    redis, memory, memcached = (backends.get(name) for name in ("redis", "memory", "memcached"))
    found = list(_redis_pipelining(_get(redis, "native")))
    found += _server_time(_get(redis, "server-time"))
    found.append(_pipeline(_get(memory, "observers")))
    found += _http(_get(memory, "asgi"))
    found.append(_memcached(_get(memcached, "throughput")))
    found.append(_scaling(_get(redis, "scaling")))
    return found


def print_goals(results: dict[str, Any]) -> None:
    """The closing summary of a run: one line per goal."""
    found = results.get("goals") or goals(results)
    print("#19 goals (this run): verdict | goal | figure")
    for item in found:
        print(f"  {item['verdict']:<12} {item['goal']}: {item['figure']}")
