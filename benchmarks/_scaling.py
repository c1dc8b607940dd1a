"""The scaling scenario: uvicorn with 1 and 2 workers against one Redis, requests/s throttled and not.

For each worker count, uvicorn serves the benchmark app (:mod:`benchmarks._app`)
on the run's Redis; a :class:`~benchmarks._load_processes.LoadFleet` keeps
:data:`CONNECTIONS` keep-alive connections busy from several processes,
alternating runs of ``/plain`` (unthrottled) and ``/throttled``
(``Depends(throttle)``, FixedWindow, a limit never reached: every request is one
Redis round trip). Each row gives both rates, their ratio (the median of the
rounds' ratios: a round's two runs are next to each other in time), the rate
over one worker's, and how many cores the server processes and the load
generator kept busy, so a reader sees whether the client or the machine was the
limit, and the busiest server process's share of the server's CPU (near one
half with two workers when the kernel spreads the connections evenly between
them). The machine's core count is printed with a caveat when it is too small
for the workers, the load generator and Redis to run side by side.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Final

from benchmarks._load_processes import LoadFleet
from benchmarks._targets import Target
from benchmarks._timing import spread
from benchmarks._uvicorn import serve

__all__ = ["CONNECTIONS", "LOAD_PROCESSES", "WORKERS", "caveat", "print_scaling", "scaling", "usable_cores"]

WORKERS: Final = (1, 2)
CONNECTIONS: Final = 32
LOAD_PROCESSES: Final = 2
_HOST: Final = "127.0.0.1"
_PATHS: Final = {"unthrottled": "/plain", "throttled": "/throttled"}


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity): how many processes can run side by side."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _row(workers: int, runs: dict[str, list[float]], cores: dict[str, list[float]]) -> dict[str, Any]:
    ratios = [low / high for low, high in zip(runs["throttled"], runs["unthrottled"], strict=True)]
    return {
        "workers": workers,
        "unthrottled_requests_per_s": spread(runs["unthrottled"], 0),
        "throttled_requests_per_s": spread(runs["throttled"], 0),
        "throttled_ratio": round(statistics.median(ratios), 3),
        "server_cores": round(statistics.median(cores["server"]), 2),
        "client_cores": round(statistics.median(cores["client"]), 2),
        "busiest_process_share": round(statistics.median(cores["busiest"]), 2),
    }


async def scaling(target: Target, repeats: int, seconds: float) -> dict[str, Any] | None:
    """Requests/s of the unthrottled and the throttled endpoint for every worker count in :data:`WORKERS`.

    Args:
        target: The backend; only Redis is measured (``None`` otherwise): the
            workers must share one store, as production processes do.
        repeats: Rounds per worker count (each round: one run of each endpoint).
        seconds: Length of each measured run (after a warm-up of about a second).
    """
    if target.name != "redis":
        return None
    rows = []
    with LoadFleet(LOAD_PROCESSES) as fleet:
        for workers in WORKERS:
            with serve(target.url, workers) as served:
                runs: dict[str, list[float]] = {name: [] for name in _PATHS}
                cores: dict[str, list[float]] = {"server": [], "client": [], "busiest": []}
                for _ in range(repeats):
                    for name, path in _PATHS.items():
                        cpu_before, started = served.cpu_by_process(), time.perf_counter()
                        result = fleet.run(_HOST, served.port, path, seconds, CONNECTIONS)
                        elapsed = time.perf_counter() - started
                        runs[name].append(result.per_second)
                        # Over the whole run, warm-up included: the server is as busy then.
                        used = {pid: cpu - cpu_before.get(pid, 0.0) for pid, cpu in served.cpu_by_process().items()}
                        cores["server"].append(sum(used.values()) / elapsed)
                        cores["client"].append(result.client_cores)
                        # The busiest process's share: near 1/workers when the connections are spread evenly.
                        cores["busiest"].append(max(used.values()) / max(sum(used.values()), 1e-9))
                rows.append(_row(workers, runs, cores))
    base = rows[0]
    for row in rows:
        for name in _PATHS:
            figure = row[f"{name}_requests_per_s"]["median"]
            row[f"{name}_vs_one_worker"] = round(figure / base[f"{name}_requests_per_s"]["median"], 2)
    return {
        "cores": usable_cores(),
        "connections": CONNECTIONS,
        "load_processes": LOAD_PROCESSES,
        "seconds_per_run": seconds,
        "repeats": repeats,
        "throttle": "Depends(throttle), FixedWindow, limit never reached (one Redis round trip per request)",
        "rows": rows,
    }


def caveat(section: dict[str, Any]) -> str | None:
    """Why the table cannot show linear scaling on this machine, or ``None`` when it has the cores for it."""
    most = max(row["workers"] for row in section["rows"])
    # Every worker, the load generator and Redis each want a core of their own.
    if section["cores"] >= most + 2:
        return None
    return (
        f"this machine has {section['cores']} cores for {most} workers, the load generator and Redis: "
        f"{most} workers cannot reach {most}x one worker's requests/s here; read the throttled/unthrottled "
        "ratio per row, and the server's cores against the machine's"
    )


def print_scaling(section: dict[str, Any]) -> None:
    """The scaling table of ``python -m benchmarks``."""
    print(
        f"  scaling: uvicorn workers against one Redis, requests/s; throttled = {section['throttle']}; "
        f"{section['connections']} keep-alive connections from {section['load_processes']} load processes, "
        f"{section['repeats']} rounds of {section['seconds_per_run']} s runs; machine: {section['cores']} cores"
    )
    print(
        f"  {'workers':>7} {'unthrottled req/s [min-max]':>28} {'throttled req/s [min-max]':>28} "
        f"{'thr/unthr':>9} {'x 1 worker (unthr/thr)':>22} {'server cores':>12} {'busiest share':>13}"
        f" {'client cores':>12}"
    )
    for row in section["rows"]:
        unthrottled, throttled = row["unthrottled_requests_per_s"], row["throttled_requests_per_s"]
        versus = f"{row['unthrottled_vs_one_worker']:.2f}x / {row['throttled_vs_one_worker']:.2f}x"
        print(
            f"  {row['workers']:>7} {_span(unthrottled):>28} {_span(throttled):>28} {row['throttled_ratio']:>9.2f} "
            f"{versus:>22} {row['server_cores']:>12.2f} {row.get('busiest_process_share', 0):>13.2f}"
            f" {row['client_cores']:>12.2f}"
        )
    note = caveat(section)
    if note:
        print(f"  caveat: {note}")


def _span(figure: dict[str, float]) -> str:
    return f"{figure['median']:.0f} [{figure['min']:.0f}-{figure['max']:.0f}]"
