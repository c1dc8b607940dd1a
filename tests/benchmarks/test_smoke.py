"""The CI smoke run: ``python -m benchmarks --quick`` finishes in seconds and prints every figure."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks._http import MODES
from benchmarks._report import print_report
from benchmarks._strategies import STRATEGIES
from benchmarks.page import PAGE, regenerate

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_results() -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    results: dict[str, Any] = json.loads(completed.stdout)
    return results


def test_quick_run_measures_the_memory_backend_only(quick_results: dict[str, Any]) -> None:
    assert list(quick_results["backends"]) == ["memory"]
    assert quick_results["settings"]["quick"] is True


def test_hit_latency_has_every_strategy_at_both_cardinalities_beside_its_floor(quick_results: dict[str, Any]) -> None:
    rows = quick_results["backends"]["memory"]["latency"]
    assert {(row["strategy"], row["keys"]) for row in rows} == {
        (name, keys) for name in STRATEGIES for keys in (1, 1000)
    }
    for row in rows:
        assert 0 < row["min_us"] <= row["median_us"] <= row["max_us"]
        assert row["floor_us"] > 0
        assert row["ratio_to_floor"] == pytest.approx(row["median_us"] / row["floor_us"], rel=0.05)


def test_throughput_reports_hits_per_second_with_fifty_tasks(quick_results: dict[str, Any]) -> None:
    section = quick_results["backends"]["memory"]["throughput"]
    assert section["tasks"] == 50
    assert section["floor_hits_per_s"]["median"] > 0
    assert [row["strategy"] for row in section["rows"]] == list(STRATEGIES)
    for row in section["rows"]:
        figure = row["hits_per_s"]
        assert 0 < figure["min"] <= figure["median"] <= figure["max"]
        assert row["ratio_to_floor"] > 0


def test_http_overhead_compares_the_throttled_endpoint_with_the_plain_one(quick_results: dict[str, Any]) -> None:
    backend = quick_results["backends"]["memory"]
    for section in (backend["asgi"], backend["uvicorn"]):
        assert section["floor_us"]["median"] > 0
        assert section["throttled_us"]["median"] > 0
        assert section["ratio_to_floor"] == pytest.approx(
            section["throttled_us"]["median"] / section["floor_us"]["median"], rel=0.05
        )
    assert backend["uvicorn"]["floor_requests_per_s"]["median"] > 0


def test_asgi_measures_every_attachment_mode_and_the_goals(quick_results: dict[str, Any]) -> None:
    section = quick_results["backends"]["memory"]["asgi"]
    assert list(section["modes"]) == list(MODES)
    for row in (section["noop_dependency"], *section["modes"].values()):
        assert row["requests_per_s"] > 0
        assert -1 < row["lost_requests_share"] < 1
    goals = {mode: row["goal"] for mode, row in section["modes"].items() if "goal" in row}
    assert {mode: goal["floor"] for mode, goal in goals.items()} == {
        "FastThrottledRoute": "unthrottled",
        "Depends(throttle)": "no-op dependency",
    }
    assert all(
        goal["max_lost_share"] == 0.03 and goal["met"] == (goal["lost_share"] <= 0.03) for goal in goals.values()
    )
    # Against the unthrottled floor, the goal's share is the row's own.
    assert goals["FastThrottledRoute"]["lost_share"] == section["modes"]["FastThrottledRoute"]["lost_requests_share"]


def test_contention_admits_exactly_the_expected_count(quick_results: dict[str, Any]) -> None:
    section = quick_results["backends"]["memory"]["contention"]
    assert section["processes"] == 1  # each process has its own in-memory store
    assert [row["strategy"] for row in section["rows"]] == list(STRATEGIES)
    assert all(row["admitted"] == row["expected"] for row in section["rows"])
    assert {row["expected"] for row in section["rows"] if row["strategy"] != "TokenBucketWithDebt"} == {200}


def test_footprint_counts_store_operations_and_bytes_per_key(quick_results: dict[str, Any]) -> None:
    section = quick_results["backends"]["memory"]["footprint"]
    assert list(section) == list(STRATEGIES)
    assert section["FixedWindow"]["store_ops_per_hit"] == 2.0  # one read, one write
    assert all(row["bytes_per_live_key"] is not None and row["bytes_per_live_key"] > 0 for row in section.values())


def test_plugin_discovery_time_is_reported(quick_results: dict[str, Any]) -> None:
    figure = quick_results["plugin_discovery_ms"]
    assert 0 < figure["min"] <= figure["median"] <= figure["max"]


def test_the_tables_show_every_section(quick_results: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    print_report(quick_results)
    output = capsys.readouterr().out
    for heading in (
        "== memory ==",
        "x floor",
        "hits/s with 50 concurrent tasks",
        "in-process ASGI",
        "FastThrottledRoute",
        "goal <= 3%",
        "uvicorn,",
    ):
        assert heading in output
    assert "contention: 1 processes x 25 tasks" in output
    assert "MISMATCH" not in output


def test_the_quick_run_rebuilds_the_memory_tables_of_the_docs_page(quick_results: dict[str, Any]) -> None:
    text, kept = regenerate(PAGE.read_text(), quick_results)
    assert "| FixedWindow | " in text
    # Memory only: the Redis and Memcached tables keep the figures of the last full run.
    assert set(kept) == {
        "redis-throughput",
        "redis-pipelining",
        "redis-sequential",
        "flood",
        "server-time",
        "scaling",
        "memcached-throughput",
        "memcached-native",
    }


def test_the_run_ends_with_every_goal_of_the_issue(
    quick_results: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    print_report(quick_results)
    summary = capsys.readouterr().out.split("#19 goals (this run)")[1]
    assert "HTTPThrottle.hit() in memory (fresh request) <= 1.5x the backend step" in summary
    assert "FastThrottledRoute: requests/s lost <= 3%" in summary
    # The quick run measures memory only: the Redis and Memcached goals say so.
    assert "not measured FixedWindow, 50 tasks: hits/s >= 3x a bare EVALSHA (redis-py)" in summary
    assert quick_results["settings"]["cores"] >= 1
