"""Tables for ``python -m benchmarks``: every figure as median [min-max] beside its floor and the ratio."""

from __future__ import annotations

from typing import Any

from benchmarks._flood import print_flood
from benchmarks._goals import PIPELINED_MIN_RATIO, SEQUENTIAL_MAX_RATIO, goals, print_goals
from benchmarks._scaling import print_scaling
from benchmarks._server_time import print_server_time

__all__ = ["print_report"]


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _span(figure: dict[str, float], digits: int = 2) -> str:
    return f"{figure['median']:.{digits}f} [{figure['min']:.{digits}f}-{figure['max']:.{digits}f}]"


def _latency(rows: list[dict[str, Any]]) -> None:
    print("  µs per `await backend.hit(key, strategy, rate)`; floor: an awaited bare dict increment")
    print(f"  {'strategy':<22} {'keys':>6} {'µs/hit [min-max]':>22} {'floor µs':>9} {'x floor':>8}")
    for row in rows:
        span = f"{row['median_us']:.2f} [{row['min_us']:.2f}-{row['max_us']:.2f}]"
        floor = f"{row['floor_us']:.2f}"
        print(f"  {row['strategy']:<22} {row['keys']:>6} {span:>22} {floor:>9} {_x(row['ratio_to_floor']):>8}")


def _observers(rows: list[dict[str, Any]]) -> None:
    print("  µs per `await throttle.hit(request)` (in memory, admitted), by observer registered")
    print(f"  {'observer':<22} {'µs/hit [min-max]':>22} {'+µs vs none':>12}")
    for row in rows:
        span = f"{row['median_us']:.2f} [{row['min_us']:.2f}-{row['max_us']:.2f}]"
        goal = ""
        if "goal" in row:  # the fresh-request hit, against the backend step alone
            met = "met" if row["met"] else "NOT met"
            goal = f"  {row['ratio_to_step']:.2f}x the backend step, goal <= {row['goal']:.1f}x: {met}"
        print(f"  {row['observer']:<22} {span:>22} {row['added_us']:>+12.2f}{goal}")


def _throughput(section: dict[str, Any], floor_name: str) -> None:
    floor = section["floor_hits_per_s"]
    floor_text = _span(floor, 0) if floor else "none"
    print(f"  hits/s with {section['tasks']} concurrent tasks, one key each; floor ({floor_name}): {floor_text}")
    print(f"  {'strategy':<22} {'hits/s [min-max]':>28} {'x floor':>8}")
    for row in section["rows"]:
        print(f"  {row['strategy']:<22} {_span(row['hits_per_s'], 0):>28} {_x(row['ratio_to_floor']):>8}")
    for pair in section.get("versus", ()):
        met = "met" if pair["ratio"] >= 1 else "NOT met"
        print(f"  {pair['ours']} hits/s = {pair['ratio']:.2f}x {pair['theirs']}'s (goal >= 1x: {met})")


def _asgi_rows(asgi: dict[str, Any]) -> None:
    """One row per attachment mode: µs, requests/s, requests/s lost against the unthrottled floor and the goal."""
    print(
        f"    {'mode':<28} {'µs/request [min-max]':>24} {'req/s':>7} {'lost vs floor':>13}"
        f"  goal (share of req/s lost, against its floor)"
    )
    print(f"    {'unthrottled (floor)':<28} {_span(asgi['floor_us'], 1):>24} {asgi['floor_requests_per_s']:>7}")
    rows = {"no-op dependency": asgi["noop_dependency"], **asgi["modes"]}
    for mode, row in rows.items():
        goal = row.get("goal")
        verdict = ""
        if goal:
            met = "met" if goal["met"] else "NOT met"
            quartiles = goal.get("lost_share_quartiles")  # half the paired rounds fall between them
            spread = f" [{quartiles[0]:.1%} to {quartiles[1]:.1%}, {goal['rounds']} rounds]" if quartiles else ""
            verdict = (
                f"  {goal['lost_share']:.2%}{spread} vs {goal['floor']}, goal <= {goal['max_lost_share']:.0%}: {met}"
            )
        print(
            f"    {mode:<28} {_span(row['us'], 1):>24} {row['requests_per_s']:>7}"
            f" {row['lost_requests_share']:>13.1%}{verdict}"
        )


def _http(asgi: dict[str, Any] | None, uvicorn: dict[str, Any] | None) -> None:
    print("  HTTP: GET /throttled vs the same endpoint unthrottled (the floor), µs per request")
    if asgi:
        print(
            f"  in-process ASGI (httpx): floor {_span(asgi['floor_us'], 1)} µs"
            f"  throttled {_span(asgi['throttled_us'], 1)} µs"
            f"  {asgi['overhead_us']:+.1f} µs  {_x(asgi['ratio_to_floor'])}"
        )
        _asgi_rows(asgi)
    if uvicorn:
        floor, throttled = uvicorn["floor_requests_per_s"], uvicorn["throttled_requests_per_s"]
        print(
            f"  uvicorn, {uvicorn['connections']} keep-alive conns: floor {_span(floor, 0)} req/s"
            f"  throttled {_span(throttled, 0)} req/s  {_x(uvicorn['ratio_to_floor'])} per request"
        )


def _contention(section: dict[str, Any]) -> None:
    print(
        f"  contention: {section['processes']} processes x {section['tasks_per_process']} tasks, "
        f"{section['attempts']} hits on one key, limit {section['limit']}"
    )
    cells = [
        f"{row['strategy']} {row['admitted']}/{row['expected']}{'' if row['exact'] else ' MISMATCH'}"
        + (f" ({row['errors']} errors)" if row["errors"] else "")
        for row in section["rows"]
    ]
    for start in range(0, len(cells), 4):
        print("    " + "; ".join(cells[start : start + 4]))


_STORE_OPERATIONS = {
    "memory": "dict reads and writes",
    "redis": "server commands, those inside Lua included",
    "memcached": "server commands",
}


def _footprint(section: dict[str, dict[str, float | None]], backend: str) -> None:
    what = _STORE_OPERATIONS.get(backend, "load_state/store_state calls")
    print(f"  store operations per hit ({what}) on an existing key; bytes per live key")
    print(f"  {'strategy':<22} {'store ops/hit':>13} {'bytes/live key':>15}")
    for name, row in section.items():
        size = "-" if row["bytes_per_live_key"] is None else f"{row['bytes_per_live_key']:.1f}"
        print(f"  {name:<22} {row['store_ops_per_hit']:>13.3f} {size:>15}")


def _native(section: dict[str, Any]) -> None:
    floor = section.get("floor_us", section.get("floor"))
    if isinstance(floor, dict):
        print("  the plugin's own run; floor: " + ", ".join(f"{name} {value}" for name, value in floor.items()))
    for label, extra in section.items():
        if label.endswith("_floor") and isinstance(extra, dict):
            print(f"  {label}: " + ", ".join(f"{name} {value}" for name, value in extra.items()))
    by_length = section.get("sliding_window_log_by_length")
    if isinstance(by_length, dict):
        lengths = [length for length in by_length if length.isdigit()]
        print(
            "  SlidingWindowLog µs per hit by live log entries: "
            + ", ".join(
                f"{length}: {by_length[length]['admitted_us']} admitted / {by_length[length]['denied_us']} denied"
                for length in lengths
            )
            + f" (slowest/fastest: {by_length.get('flatness')})"
        )
    rows = section.get("strategies")
    if not isinstance(rows, dict) or not rows:
        print(f"  the plugin's own run: {section}")
        return
    # Scalar columns only: nested breakdowns stay in the JSON.
    columns = list(
        dict.fromkeys(
            column
            for row in rows.values()
            for column, value in row.items()
            if isinstance(value, (int, float, str, bool))
        )
    )
    print("  " + f"{'strategy':<22} " + " ".join(f"{column:>14}" for column in columns))
    for name, row in rows.items():
        print("  " + f"{name:<22} " + " ".join(f"{row.get(column, '-')!s:>14}" for column in columns))


def _met(met: bool) -> str:
    return "met" if met else "NOT met"


def _redis_pipelining(section: dict[str, Any]) -> None:
    """Auto-pipelined hits beside auto_pipeline=False, the redis-py floor and the raw-socket figure, with the goals."""
    rows = {name: row for name, row in section.get("strategies", {}).items() if "unpipelined_hits_per_s" in row}
    floor = section.get("floor", {}).get("concurrent_hits_per_s")
    if not rows or not floor:
        return
    raw = section.get("raw_socket_hits_per_s")
    raw_text = f"{_span(raw, 0)}/s" if raw else "not measured"
    print(
        f"  Redis, 50 tasks, hits/s: auto-pipelined (default) and auto_pipeline=False; floor: a bare EVALSHA "
        f"through redis-py {floor:,}/s; raw socket (one EVALSHA per round trip, no client library): {raw_text}"
    )
    print(
        f"  {'strategy':<14} {'pipelined':>10} {'x floor':>8} {'unpipelined':>11} {'x floor':>8} {'x raw':>6}"
        f"  goal >= {PIPELINED_MIN_RATIO:g}x floor"
    )
    for name, row in rows.items():
        versus_raw = _x(row["concurrent_hits_per_s"] / raw["median"]) if raw else "-"
        print(
            f"  {name:<14} {row['concurrent_hits_per_s']:>10,} {_x(row['concurrent_ratio_to_floor']):>8}"
            f" {row['unpipelined_hits_per_s']:>11,} {_x(row['unpipelined_ratio_to_floor']):>8} {versus_raw:>6}"
            f"  {_met(row['concurrent_ratio_to_floor'] >= PIPELINED_MIN_RATIO)}"
        )
    print(f"  sequential hit, µs: auto-pipelined vs auto_pipeline=False (goal <= {SEQUENTIAL_MAX_RATIO:.2f}x)")
    for name, row in rows.items():
        versus = row["sequential_vs_unpipelined"]
        print(
            f"  {name:<14} {row['median_us']:>10} {row['unpipelined_median_us']:>11} {_x(versus):>8}"
            f"  {_met(versus <= SEQUENTIAL_MAX_RATIO)}"
        )


def _goal_lines(results: dict[str, Any], backend: str, scenario: str) -> None:
    """The #19 goals of one scenario, under its table (the scenario's own table has no verdict column)."""
    for item in results.get("goals") or goals(results):
        if item.get("backend") == backend and item.get("scenario") == scenario:
            print(f"  {item['goal']}: {item['figure']} -> {item['verdict']}")


_FLOORS = {"memory": "bare dict increment", "redis": "bare EVALSHA", "memcached": "bare incr"}


def print_report(results: dict[str, Any]) -> None:
    """Print ``results`` (what ``python -m benchmarks --json`` prints) as tables."""
    for name, backend in results["backends"].items():
        print(f"== {name} ==")
        if "latency" in backend:
            _latency(backend["latency"])
        if "observers" in backend:
            _observers(backend["observers"])
        if "throughput" in backend:
            _throughput(backend["throughput"], _FLOORS.get(name, "none"))
        if "asgi" in backend or "uvicorn" in backend:
            _http(backend.get("asgi"), backend.get("uvicorn"))
        if "contention" in backend:
            _contention(backend["contention"])
        if "footprint" in backend:
            _footprint(backend["footprint"], name)
        if "native" in backend:
            _native(backend["native"])
            if name == "redis":
                _redis_pipelining(backend["native"])
        if "flood" in backend:
            print_flood(backend["flood"])
        if "server-time" in backend:
            print_server_time(backend["server-time"])
            _goal_lines(results, name, "server-time")
        if "scaling" in backend:
            print_scaling(backend["scaling"])
        timings = ", ".join(f"{scenario} {seconds:.1f} s" for scenario, seconds in backend.get("seconds", {}).items())
        print(f"  ({timings})")
        print()
    if "plugin_discovery_ms" in results:
        print(f"plugin discovery (first use, fresh process): {_span(results['plugin_discovery_ms'])} ms")
    for note in results["notes"]:
        print(f"note: {note}")
    s = results["settings"]
    sizing = (
        f"timed runs sized to ~{s['duration']} s"
        if s.get("duration")
        else f"{s['operations']} in-memory hits and {s['requests']} HTTP requests per timed run"
    )
    cores = f"{s['cores']} cores; " if "cores" in s else ""
    print(
        f"({sizing}; {s['repeats']} interleaved runs per variant after a warm-up; "
        f"Python {s['python']}; {cores}{s['seconds']} s)"
    )
    print()
    print_goals(results)
