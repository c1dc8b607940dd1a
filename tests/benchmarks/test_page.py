"""``python -m benchmarks.page``: the docs page's tables rebuilt from a run's JSON, the prose kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.page import PAGE, REGIONS, main, regenerate

_GOALS = {"goals": [{"goal": "a goal", "figure": "1.00x", "verdict": "met"}]}


def test_the_docs_page_names_only_known_regions_and_has_every_one() -> None:
    names = re.findall(r"<!-- figures: ([a-z-]+) -->", PAGE.read_text())
    assert sorted(names) == sorted(REGIONS)
    assert PAGE.read_text().count("<!-- /figures -->") == len(names)


def test_a_region_is_rebuilt_from_the_run_and_the_prose_around_it_kept() -> None:
    page = "Prose before.\n<!-- figures: goals -->\nold table\n<!-- /figures -->\nProse after.\n"
    text, kept = regenerate(page, _GOALS)
    assert kept == []
    assert text == (
        "Prose before.\n<!-- figures: goals -->\n| Goal | This run | Verdict |\n| --- | --- | --- |\n"
        "| a goal | 1.00x | met |\n<!-- /figures -->\nProse after.\n"
    )


def test_a_region_the_run_has_no_figures_for_keeps_its_old_text() -> None:
    page = "<!-- figures: scaling -->\nold table\n<!-- /figures -->\n"
    assert regenerate(page, {"backends": {"memory": {}}}) == (page, ["scaling"])


def test_an_unknown_region_is_an_error() -> None:
    with pytest.raises(KeyError, match="'nope'"):
        regenerate("<!-- figures: nope -->\n<!-- /figures -->\n", {})


def test_the_command_rewrites_the_page_in_place(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run, page = tmp_path / "run.json", tmp_path / "page.md"
    run.write_text(json.dumps(_GOALS))
    page.write_text("<!-- figures: goals -->\n<!-- /figures -->\n<!-- figures: flood -->\nold\n<!-- /figures -->\n")
    assert main([str(run), str(page)]) == 0
    assert "| a goal | 1.00x | met |" in page.read_text()
    assert "kept as they were (not in this run): flood" in capsys.readouterr().err
    assert main([]) == 2
