"""``examples/demo.py``, the program ``bash scripts/demo.sh`` runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.inmemory

DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.py"
STRATEGIES = (
    "FixedWindow",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "TokenBucket",
    "TokenBucketWithDebt",
    "LeakyBucket",
    "LeakyBucketWithQueue",
    "GCRA",
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DEMO), *args], capture_output=True, text=True, timeout=60, check=False)


def _rows(output: str) -> dict[str, list[str]]:
    """Table rows by strategy name: ``{"GCRA": ["GCRA", "-", "1", "9", "200.0", "1", "9"], ...}``."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        cells = line.split()
        if cells and cells[0] in STRATEGIES:
            assert cells[0] not in rows, f"two rows for {cells[0]}"
            rows[cells[0]] = cells
    return rows


def test_demo_prints_one_row_per_strategy() -> None:
    result = _run()
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert sorted(rows) == sorted(STRATEGIES)
    for name, (_, _settings, allowed, denied, first_wait, later_allowed, later_denied) in rows.items():
        assert int(allowed) + int(denied) == 10, name
        assert int(later_allowed) + int(later_denied) == 10, name
        # 10 hits at once against 5/s: every strategy admits some and refuses some.
        assert 1 <= int(allowed) < 10, name
        assert float(first_wait) > 0, name


def test_demo_fixed_window_admits_the_limit_then_a_new_window() -> None:
    result = _run("--rate", "5/s", "--hits", "10", "--later-ms", "1000")
    assert result.returncode == 0, result.stderr
    # The clock starts on a window boundary: 5 pass, the 6th waits out the whole second.
    assert _rows(result.stdout)["FixedWindow"][1:] == ["-", "5", "5", "1000.0", "5", "5"]


def test_demo_shows_no_wait_when_nothing_is_denied() -> None:
    result = _run("--rate", "100/s", "--hits", "3")
    assert result.returncode == 0, result.stderr
    rows = _rows(result.stdout)
    assert rows["FixedWindow"][2:] == ["3", "0", "-", "3", "0"]
    # GCRA spaces hits out even under the limit, so some rows do have denials.
    for name, cells in rows.items():
        assert (cells[3] == "0") == (cells[4] == "-"), name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("--hits", "0"), "--hits must be at least 1, got 0", id="hits"),
        pytest.param(("--rate", "5/week"), "5/week", id="rate"),
    ],
)
def test_demo_rejects_bad_options(args: tuple[str, ...], message: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr
