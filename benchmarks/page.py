"""Regenerate the figures of ``docs/benchmarks.md`` from one full run's ``--json``.

::

    python -m benchmarks --json > run.json
    python -m benchmarks.page run.json            # rewrites docs/benchmarks.md in place

The page's prose is written by hand; its figures sit between markers::

    <!-- figures: redis-pipelining -->
    ...generated markdown...
    <!-- /figures -->

and each named region is rebuilt from the run by the function of that name in
:data:`REGIONS`. A region whose figures the run does not have (a backend or a
scenario left out) keeps its old text, and the command names it on stderr, so
a partial run never blanks the page. An unknown region name is an error.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._goals import goals
from benchmarks._scaling import caveat

__all__ = ["REGIONS", "regenerate"]

PAGE = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
_REGION = re.compile(r"(<!-- figures: ([a-z-]+) -->\n)(.*?)(<!-- /figures -->)", re.DOTALL)

_X = "\N{MULTIPLICATION SIGN}"  # the page's "times", as in "3.2 times the floor"

Render = Callable[[dict[str, Any]], "str | None"]


def _span(figure: dict[str, float] | None, digits: int = 1) -> str:
    if not figure:
        return "-"
    return f"{figure['median']:,.{digits}f} [{figure['min']:,.{digits}f}-{figure['max']:,.{digits}f}]"


def _table(header: list[str], rows: list[list[str]], numeric: bool = True) -> str:
    """A markdown table; figures (every column but the first) right-aligned unless ``numeric`` is false."""
    aligns = ["---"] + ["---:" if numeric else "---"] * (len(header) - 1)
    lines = [header, aligns, *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines) + "\n"


_FLOORS = {
    "memory": "an awaited bare dict increment",
    "redis": "a bare `EVALSHA` of `return 1` through redis-py",
    "memcached": "a bare `incr`",
}


def _backend(results: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = results.get("backends", {}).get(name, {})
    return found


def _keys(count: int) -> str:
    return f"{count:,} key{'s' if count > 1 else ''}"


def memory_latency(results: dict[str, Any]) -> str | None:
    rows = _backend(results, "memory").get("latency")
    if not rows:
        return None
    keys = sorted({row["keys"] for row in rows})
    by = {(row["strategy"], row["keys"]): row for row in rows}
    strategies = list(dict.fromkeys(row["strategy"] for row in rows))
    header = ["Strategy", *(f"{_keys(k)} (µs)" for k in keys), f"{_X} floor ({_keys(keys[-1])})"]
    body = [
        [
            name,
            *(
                f"{by[name, k]['median_us']:.2f} [{by[name, k]['min_us']:.2f}-{by[name, k]['max_us']:.2f}]"
                for k in keys
            ),
            f"{by[name, keys[-1]]['ratio_to_floor']:.2f}{_X}",
        ]
        for name in strategies
    ]
    floors = ", ".join(f"{by[strategies[0], k]['floor_us']:.2f} µs ({_keys(k)})" for k in keys)
    return _table(header, body) + f"\nFloor (an awaited bare dict increment): {floors}.\n"


def memory_observers(results: dict[str, Any]) -> str | None:
    rows = _backend(results, "memory").get("observers")
    if not rows:
        return None
    body = []
    for row in rows:
        goal = ""
        if "goal" in row:
            met = "met" if row["met"] else "not met"
            goal = f"{row['ratio_to_step']:.2f}{_X} the step (goal ≤ {row['goal']:g}{_X}: {met})"
        body.append(
            [
                row["observer"],
                f"{row['median_us']:.2f} [{row['min_us']:.2f}-{row['max_us']:.2f}]",
                f"{row['added_us']:+.2f}",
                goal,
            ]
        )
    return _table(["Variant", "µs per hit", "+µs vs none", "goal"], body)


def _throughput(backend: str) -> Render:
    def render(results: dict[str, Any]) -> str | None:
        section = _backend(results, backend).get("throughput")
        if not section:
            return None
        body = [
            [
                row["strategy"],
                _span(row["hits_per_s"], 0),
                f"{row['ratio_to_floor']:.2f}{_X}" if row.get("ratio_to_floor") else "-",
            ]
            for row in section["rows"]
        ]
        if section.get("floor_hits_per_s"):
            body.append([f"*floor: {_FLOORS.get(backend, 'none')}*", f"*{_span(section['floor_hits_per_s'], 0)}*", ""])
        text = _table(["Strategy", f"hits/s, {section['tasks']} tasks", f"{_X} floor (time per hit)"], body)
        for pair in section.get("versus", ()):
            met = "met" if pair["ratio"] >= 1 else "not met"
            text += (
                f"\n{pair['ours']} reaches {pair['ratio']:.2f}{_X} {pair['theirs']}'s hits/s (goal ≥ 1{_X}: {met}).\n"
            )
        return text

    return render


def footprint(results: dict[str, Any]) -> str | None:
    sections = {name: b["footprint"] for name, b in results.get("backends", {}).items() if "footprint" in b}
    if not sections:
        return None
    strategies = list(dict.fromkeys(name for section in sections.values() for name in section))

    def cell(row: dict[str, Any] | None) -> str:
        if not row:
            return "-"
        size = "-" if row["bytes_per_live_key"] is None else f"{row['bytes_per_live_key']:.0f}"
        return f"{row['store_ops_per_hit']:g} / {size}"

    body = [[name, *(cell(section.get(name)) for section in sections.values())] for name in strategies]
    return _table(["Strategy", *(f"{name}: ops per hit / bytes per key" for name in sections)], body)


def http_modes(results: dict[str, Any]) -> str | None:
    asgi = _backend(results, "memory").get("asgi")
    if not asgi or "modes" not in asgi:
        return None
    body = [["unthrottled (floor)", _span(asgi["floor_us"]), f"{asgi['floor_requests_per_s']:,}", "", ""]]
    for mode, row in {"no-op dependency": asgi["noop_dependency"], **asgi["modes"]}.items():
        goal = row.get("goal")
        verdict = ""
        if goal:
            met = "met" if goal["met"] else "not met"
            verdict = f"{goal['lost_share']:.2%} vs {goal['floor']} (≤ {goal['max_lost_share']:.0%}: {met})"
        body.append(
            [f"`{mode}`", _span(row["us"]), f"{row['requests_per_s']:,}", f"{row['lost_requests_share']:.1%}", verdict]
        )
    return _table(["Mode", "µs per request (CPU)", "requests/s", "requests/s lost", "goal"], body)


def uvicorn(results: dict[str, Any]) -> str | None:
    lines = []
    for name, backend in results.get("backends", {}).items():
        section = backend.get("uvicorn")
        if section:
            lines.append(
                f"- {name}: {section['floor_requests_per_s']['median']:,.0f} requests/s unthrottled, "
                f"{section['throttled_requests_per_s']['median']:,.0f} throttled ({section['connections']} connections)"
            )
    return "\n".join(lines) + "\n" if lines else None


def redis_pipelining(results: dict[str, Any]) -> str | None:
    native = _backend(results, "redis").get("native")
    if not native or "floor" not in native:
        return None
    rows = {name: row for name, row in native["strategies"].items() if "unpipelined_hits_per_s" in row}
    body = [
        [
            name,
            f"{row['concurrent_hits_per_s']:,} ({row['concurrent_ratio_to_floor']:.2f}{_X})",
            f"{row['unpipelined_hits_per_s']:,} ({row['unpipelined_ratio_to_floor']:.2f}{_X})",
            f"{row['median_us']} / {row['unpipelined_median_us']} ({row['sequential_vs_unpipelined']:.2f}{_X})",
        ]
        for name, row in rows.items()
    ]
    body.append(["*floor: bare `EVALSHA` through redis-py*", f"*{native['floor']['concurrent_hits_per_s']:,}*", "", ""])
    raw = native.get("raw_socket_hits_per_s")
    if raw:
        body.append(["*raw socket: one `EVALSHA` per round trip*", f"*{_span(raw, 0)}*", "", ""])
    header = [
        "Strategy",
        f"50 tasks, auto-pipelined ({_X} floor)",
        f"`auto_pipeline=False` ({_X} floor)",
        "sequential µs, pipelined / not",
    ]
    return _table(header, body)


def redis_sequential(results: dict[str, Any]) -> str | None:
    native = _backend(results, "redis").get("native")
    if not native or "kept_floor" not in native:
        return None
    body = [
        [
            name,
            f"{row['median_us']} [{row['min_us']}-{row['max_us']}]",
            f"{row['ratio_to_floor']:.2f}{_X}",
            f"{row['ratio_to_kept_floor']:.2f}{_X}",
            f"{row['round_trips_per_hit']:g}",
            f"{row['server_commands_per_hit']:g}",
        ]
        for name, row in native["strategies"].items()
    ]
    for label, key in (
        ("floor: bare `EVALSHA` of `return 1` through redis-py", "floor"),
        ("kept floor: the same, sent the backend's way", "kept_floor"),
    ):
        figure = native[key]
        body.append([f"*{label}*", f"*{figure['median_us']} [{figure['min_us']}-{figure['max_us']}]*", "", "", "", ""])
    return _table(["Strategy", "µs per hit", f"{_X} floor", f"{_X} kept floor", "round trips", "server commands"], body)


def flood(results: dict[str, Any]) -> str | None:
    section = _backend(results, "redis").get("flood")
    if not section:
        return None
    body = [
        ["on" if row["deny_cache"] else "off", _span(row["calls_per_denied_hit"], 4), _span(row["hits_per_s"], 0)]
        for row in section["rows"]
    ]
    return _table(["Deny cache", "Redis calls per denied hit", "hits/s"], body)


def server_time(results: dict[str, Any]) -> str | None:
    section = _backend(results, "redis").get("server-time")
    if not section:
        return None
    body = [
        [row["strategy"], _span(row.get("traffik_server_us"), 2), _span(row.get("limits_server_us"), 2)]
        for row in section["rows"]
    ]
    return _table(["Strategy", "Traffik µs per hit", "`limits` µs per hit"], body)


def scaling(results: dict[str, Any]) -> str | None:
    section = _backend(results, "redis").get("scaling")
    if not section:
        return None
    body = [
        [
            str(row["workers"]),
            _span(row["unthrottled_requests_per_s"], 0),
            _span(row["throttled_requests_per_s"], 0),
            f"{row['throttled_ratio']:.2f}",
            f"{row['unthrottled_vs_one_worker']:.2f}{_X} / {row['throttled_vs_one_worker']:.2f}{_X}",
            f"{row['server_cores']:.2f} / {row['client_cores']:.2f}",
            f"{row['busiest_process_share']:.2f}" if "busiest_process_share" in row else "-",
        ]
        for row in section["rows"]
    ]
    header = [
        "Workers",
        "unthrottled req/s",
        "throttled req/s",
        "throttled / unthrottled",
        f"{_X} 1 worker",
        "cores: server / client",
        "busiest server process's share",
    ]
    note = caveat(section)
    text = _table(header, body) + f"\nMachine: {section['cores']} cores.\n"
    return text + (f"Caveat: {note}.\n" if note else "")


def memcached_native(results: dict[str, Any]) -> str | None:
    native = _backend(results, "memcached").get("native")
    if not native or "strategies" not in native:
        return None
    body = [
        [
            name,
            f"{row['median_us']} [{row['min_us']}-{row['max_us']}]",
            f"{row['ratio_to_floor']:.2f}{_X}",
            f"{row['operations_per_hit']:g}",
            f"{row['concurrent_hits_per_s']:,}",
        ]
        for name, row in native["strategies"].items()
    ]
    body.append(["*floor: a bare `incr`*", f"*{_span(native['floor_us'])}*", "", "", ""])
    return _table(["Strategy", "µs per sequential hit", f"{_X} floor", "operations per hit", "hits/s, 50 tasks"], body)


def goal_summary(results: dict[str, Any]) -> str | None:
    found = results.get("goals") or goals(results)
    if all(item["verdict"] == "not measured" for item in found):
        return None
    body = [[item["goal"], item["figure"], item["verdict"]] for item in found]
    return _table(["Goal", "This run", "Verdict"], body, numeric=False)


def run(results: dict[str, Any]) -> str | None:
    settings = results.get("settings")
    if not settings:
        return None
    backends = ", ".join(results.get("backends", {}))
    cores = f"{settings['cores']} cores, " if "cores" in settings else ""
    discovery = results.get("plugin_discovery_ms")
    first_use = f" Plugin discovery (first use, once per process): {discovery['median']} ms." if discovery else ""
    return (
        f"Measured with `python -m benchmarks` ({backends}; {settings['seconds']:.0f} s) on {cores}"
        f"Python {settings['python']}.{first_use}\n"
    )


REGIONS: dict[str, Render] = {
    "memory-latency": memory_latency,
    "memory-observers": memory_observers,
    "memory-throughput": _throughput("memory"),
    "redis-throughput": _throughput("redis"),
    "memcached-throughput": _throughput("memcached"),
    "footprint": footprint,
    "http-modes": http_modes,
    "uvicorn": uvicorn,
    "redis-pipelining": redis_pipelining,
    "redis-sequential": redis_sequential,
    "flood": flood,
    "server-time": server_time,
    "scaling": scaling,
    "memcached-native": memcached_native,
    "goals": goal_summary,
    "run": run,
}
"""Region name (as the page's marker spells it) -> the function that renders it from a run's results."""


def regenerate(page: str, results: dict[str, Any]) -> tuple[str, list[str]]:
    """``page`` with every figures region rebuilt from ``results``; also the names of regions kept as they were.

    Raises:
        KeyError: The page names a region :data:`REGIONS` does not know.
    """
    kept: list[str] = []

    def rebuild(match: re.Match[str]) -> str:
        opening, name, _old, closing = match.groups()
        if name not in REGIONS:
            raise KeyError(f"docs page region {name!r} is not one of {sorted(REGIONS)}")
        new = REGIONS[name](results)
        if new is None:
            kept.append(name)
            return match.group(0)
        return f"{opening}{new}{closing}"

    return _REGION.sub(rebuild, page), kept


def main(argv: list[str]) -> int:
    """``python -m benchmarks.page RUN.json [PAGE.md]``: rewrite the page's figures from the run."""
    if not 1 <= len(argv) <= 2:
        print("usage: python -m benchmarks.page RUN.json [PAGE.md]", file=sys.stderr)
        return 2
    results = json.loads(Path(argv[0]).read_text())
    page = Path(argv[1]) if len(argv) > 1 else PAGE
    text, kept = regenerate(page.read_text(), results)
    page.write_text(text)
    if kept:
        print(f"kept as they were (not in this run): {', '.join(kept)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
