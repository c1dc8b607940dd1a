"""The scaling scenario, its load processes, the raw-socket Redis figure and the #19 goals summary."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traffik.testing import RedisServer

from benchmarks._goals import goals, print_goals
from benchmarks._load_processes import LoadFleet
from benchmarks._raw_redis import raw_evalsha_rate
from benchmarks._report import _redis_pipelining
from benchmarks._scaling import WORKERS, caveat, print_scaling, scaling
from benchmarks._targets import Target
from benchmarks._uvicorn import serve

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fleet() -> Iterator[LoadFleet]:
    with LoadFleet(2) as started:
        yield started


@pytest.mark.slow
async def test_the_fleet_counts_replies_in_the_window_from_every_process(
    fleet: LoadFleet, tiny_server: tuple[int, list[int]]
) -> None:
    port, seen = tiny_server
    # The fleet blocks while it runs: in a thread, so this loop keeps serving.
    result = await asyncio.to_thread(fleet.run, "127.0.0.1", port, "/ok", 0.3, 4)
    assert 0 < result.requests < seen[0]  # the warm-up's replies are not counted
    assert result.seconds == 0.3
    assert result.per_second == pytest.approx(result.requests / 0.3)
    assert result.client_cpu_s >= 0


@pytest.mark.slow
async def test_the_fleet_fails_on_a_non_200_answer(fleet: LoadFleet, tiny_server: tuple[int, list[int]]) -> None:
    port, _ = tiny_server
    with pytest.raises(RuntimeError, match="expected 200"):
        await asyncio.to_thread(fleet.run, "127.0.0.1", port, "/limited", 0.2, 2)


def test_the_fleet_refuses_non_loopback_hosts_and_too_few_connections(fleet: LoadFleet) -> None:
    with pytest.raises(ValueError, match="loopback"):
        fleet.run("192.0.2.1", 80, "/", 0.1, 2)
    with pytest.raises(ValueError, match="one connection per process"):
        fleet.run("127.0.0.1", 80, "/", 0.1, 1)


async def test_scaling_is_none_for_the_memory_backend() -> None:
    assert await scaling(Target("memory", "memory://"), 1, 0.1) is None


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"  # exited, waiting for its new parent to collect it


@pytest.mark.slow
@pytest.mark.redis
def test_two_workers_are_stopped_by_pid_and_the_port_is_freed(redis_server: RedisServer) -> None:
    with serve(redis_server.url, workers=2) as served:
        processes = served.processes()
        assert len(processes) >= 3  # the supervisor and its two workers
        assert served.cpu_seconds() > 0
    assert all(_gone(pid) for pid in processes)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", served.port))


@pytest.mark.slow
@pytest.mark.redis
async def test_scaling_measures_one_and_two_workers_on_one_redis(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    target = Target("redis", redis_server.url, redis_url=redis_server.url)
    result = await scaling(target, 1, 0.3)
    assert result is not None
    assert [row["workers"] for row in result["rows"]] == list(WORKERS)
    for row in result["rows"]:
        assert row["unthrottled_requests_per_s"]["median"] > 0
        assert row["throttled_requests_per_s"]["median"] > 0
        assert row["throttled_ratio"] > 0
        assert row["server_cores"] > 0
        assert 0 < row["busiest_process_share"] <= 1
    assert result["rows"][0]["unthrottled_vs_one_worker"] == 1.0
    assert result["rows"][0]["busiest_process_share"] == 1.0  # one worker: uvicorn serves in its only process
    print_scaling(result)
    output = capsys.readouterr().out
    assert f"machine: {result['cores']} cores" in output
    assert ("caveat:" in output) == (result["cores"] < 4)


def test_the_caveat_names_the_cores_when_they_are_too_few() -> None:
    rows = [{"workers": 1}, {"workers": 2}]
    assert "2 cores for 2 workers" in (caveat({"cores": 2, "rows": rows}) or "")
    assert caveat({"cores": 8, "rows": rows}) is None


@pytest.mark.slow
@pytest.mark.redis
async def test_the_raw_socket_figure_is_a_rate(redis_server: RedisServer) -> None:
    figure = await raw_evalsha_rate(redis_server.url, 500, 2)
    assert figure is not None
    assert 0 < figure["min"] <= figure["median"] <= figure["max"]


@pytest.mark.parametrize(
    "url",
    ["rediss://127.0.0.1:1", "redis://:secret@127.0.0.1:1", "unix:///tmp/redis.sock"],
    ids=["tls", "password", "unix"],
)
async def test_the_raw_socket_figure_is_left_out_for_a_server_it_cannot_speak_to(url: str) -> None:
    assert await raw_evalsha_rate(url, 500, 2) is None


def _results() -> dict[str, Any]:
    """A run's results with every figure #19 names, shaped as the scenarios return them."""
    pipelined = {
        "concurrent_hits_per_s": 30_000,
        "concurrent_ratio_to_floor": 3.2,
        "unpipelined_hits_per_s": 15_000,
        "median_us": 100.0,
        "unpipelined_median_us": 95.0,
        "sequential_vs_unpipelined": 1.05,
    }
    gcra = {**pipelined, "concurrent_ratio_to_floor": 2.5, "sequential_vs_unpipelined": 1.2}
    server_rows = [
        {"strategy": "FixedWindow", "traffik_server_us": {"median": 4.0}, "limits_server_us": {"median": 6.0}},
        {"strategy": "GCRA", "traffik_server_us": {"median": 9.0}},
    ]
    return {
        "backends": {
            "memory": {
                "observers": [{"observer": "none"}, {"ratio_to_step": 1.4, "goal": 1.5, "met": True, "median_us": 2.0}],
                "asgi": {
                    "modes": {
                        "FastThrottledRoute": {"goal": {"max_lost_share": 0.03, "lost_share": 0.02, "met": True}},
                        "Depends(throttle)": {"goal": {"max_lost_share": 0.03, "lost_share": 0.05, "met": False}},
                    }
                },
            },
            "redis": {
                "native": {
                    "strategies": {"FixedWindow": pipelined, "GCRA": gcra},
                    "floor": {"concurrent_hits_per_s": 9_400},
                    "raw_socket_hits_per_s": {"median": 50_000, "min": 40_000, "max": 60_000},
                },
                "server-time": {"goal_fixed_window_us": 5.0, "rows": server_rows},
                "scaling": {
                    "cores": 2,
                    "rows": [
                        {"workers": 1, "throttled_ratio": 0.9, "throttled_requests_per_s": {"median": 900}},
                        {"workers": 2, "throttled_ratio": 0.8, "throttled_requests_per_s": {"median": 1400}},
                    ],
                },
            },
            "memcached": {"throughput": {"versus": [{"ours": "FixedWindow", "theirs": "limits", "ratio": 0.8}]}},
        }
    }


def test_every_goal_of_the_issue_has_its_figure_and_verdict() -> None:
    verdicts = {item["goal"]: item["verdict"] for item in goals(_results())}
    assert verdicts == {
        "FixedWindow, 50 tasks: hits/s >= 3x a bare EVALSHA (redis-py)": "met",
        "GCRA, 50 tasks: hits/s >= 3x a bare EVALSHA (redis-py)": "NOT met",
        "FixedWindow, sequential hit: auto-pipelined <= 1.10x auto_pipeline=False": "met",
        "GCRA, sequential hit: auto-pipelined <= 1.10x auto_pipeline=False": "NOT met",
        "FixedWindow server time <= limits'": "met",
        "server time, strategies without an alternative (µs)": "-",
        "FixedWindow server time per hit <= 5 µs": "met",
        "HTTPThrottle.hit() in memory (fresh request) <= 1.5x the backend step": "met",
        "HTTP in-process, FastThrottledRoute: requests/s lost <= 3% against the unthrottled endpoint": "met",
        "HTTP in-process, Depends(throttle): requests/s lost <= 3% against a no-op dependency": "NOT met",
        "Memcached, 50 tasks, FixedWindow: hits/s >= the best alternative's": "NOT met",
        "uvicorn 1 and 2 workers on one Redis, throttled vs unthrottled (a table, no goal)": "-",
    }


def test_a_goal_whose_scenario_did_not_run_reads_not_measured(capsys: pytest.CaptureFixture[str]) -> None:
    found = goals({"backends": {"memory": {}}})
    assert {item["verdict"] for item in found} == {"not measured"}
    assert len(found) == 11  # no per-strategy server-time rows without the scenario
    print_goals({"backends": {}, "goals": found})
    assert "#19 goals" in capsys.readouterr().out


def test_the_pipelining_goal_prints_the_floor_and_the_raw_socket_figure() -> None:
    (fixed, *_) = goals(_results())
    assert fixed["figure"] == "30,000/s = 3.20x the floor's 9,400/s; auto_pipeline=False 15,000/s; raw socket 50,000/s"


def test_the_redis_table_puts_pipelined_hits_beside_both_floors_and_the_goals(
    capsys: pytest.CaptureFixture[str],
) -> None:
    native = _results()["backends"]["redis"]["native"]
    for row in native["strategies"].values():
        row["unpipelined_ratio_to_floor"] = 1.6
    _redis_pipelining(native)
    output = capsys.readouterr().out
    assert "bare EVALSHA through redis-py 9,400/s" in output
    assert "raw socket (one EVALSHA per round trip, no client library): 50000 [40000-60000]/s" in output
    rows = [line for line in output.splitlines() if line.strip().startswith(("FixedWindow", "GCRA"))]
    # The 50-task rows, then the sequential ones: FixedWindow meets both goals here, GCRA neither.
    assert [row.split()[0] for row in rows] == ["FixedWindow", "GCRA", "FixedWindow", "GCRA"]
    assert [row.endswith("NOT met") for row in rows] == [False, True, False, True]


@pytest.mark.slow
@pytest.mark.redis
def test_a_quick_redis_run_measures_every_redis_goal() -> None:
    # The Redis-only scenarios: the others run on every backend and the memory smoke run covers them.
    redis_only = ["native", "flood", "server-time", "scaling"]
    command = [sys.executable, "-m", "benchmarks", "--quick", "--backend", "redis", "--json"]
    command += [option for scenario in redis_only for option in ("--scenario", scenario)]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    redis = results["backends"]["redis"]
    assert set(redis["seconds"]) == set(redis_only)
    assert redis["native"]["raw_socket_hits_per_s"]["median"] > 0
    measured = {item["goal"]: item["verdict"] for item in results["goals"] if item["backend"] == "redis"}
    assert "not measured" not in measured.values(), measured
