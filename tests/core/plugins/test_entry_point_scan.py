"""The entry-point scanner that replaces importlib.metadata during discovery."""

from __future__ import annotations

from pathlib import Path

from traffik.plugins._entry_points import find_entry_points


def _dist(root: Path, dirname: str, text: str) -> None:
    folder = root / dirname
    folder.mkdir(parents=True)
    (folder / "entry_points.txt").write_text(text, encoding="utf-8")


def test_reads_only_the_requested_group(tmp_path: Path) -> None:
    _dist(
        tmp_path,
        "Acme_Limits-1.2.3.dist-info",
        "[console_scripts]\nacme = acme:main\n\n[traffik]\nacme = acme._plugin\nextra = acme.more:plugin\n",
    )
    found = find_entry_points("traffik", [str(tmp_path)])
    assert [(ep.name, ep.value, ep.module) for ep in found] == [
        ("acme", "acme._plugin", "acme._plugin"),
        ("extra", "acme.more:plugin", "acme.more"),
    ]
    assert {(ep.distribution, ep.version) for ep in found} == {("acme-limits", "1.2.3")}


def test_first_distribution_on_the_path_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _dist(first, "acme-2.0.0.dist-info", "[traffik]\nacme = acme_new\n")
    _dist(second, "acme-1.0.0.dist-info", "[traffik]\nacme = acme_old\n")
    found = find_entry_points("traffik", [str(first), str(second)])
    assert [(ep.value, ep.version) for ep in found] == [("acme_new", "2.0.0")]


def test_egg_info_counts_and_missing_paths_are_ignored(tmp_path: Path) -> None:
    _dist(tmp_path, "old_plugin-0.1-py3.11.egg-info", "[traffik]\nold = old_plugin\n")
    (tmp_path / "no_entry_points-1.0.dist-info").mkdir()
    found = find_entry_points("traffik", [str(tmp_path / "missing"), str(tmp_path)])
    assert [(ep.name, ep.distribution, ep.version) for ep in found] == [("old", "old-plugin", "0.1")]
