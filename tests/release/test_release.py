"""scripts/release.py on scratch clones: dry runs, a real plugin release, and the refusals."""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from tests.release.conftest import git, run_script

DISTRIBUTIONS = [
    "traffik",
    "traffik-core",
    "traffik-redis",
    "traffik-memcached",
    "traffik-fastapi",
    "traffik-testing",
    "traffik-prometheus",
    "traffik-opentelemetry",
]
REDIS_ABOUT = Path("packages/traffik-redis/src/traffik/backends/redis/__about__.py")
REDIS_CHANGELOG = Path("packages/traffik-redis/CHANGELOG.md")
CORE_ABOUT = Path("packages/traffik-core/src/traffik/__about__.py")


def _version(repo: Path, about: Path) -> str:
    match = re.search(r'__version__ = "([^"]+)"', (repo / about).read_text(encoding="utf-8"))
    assert match is not None
    return match.group(1)


def _minor(version: str) -> str:
    major, minor, _ = version.split(".", 2)
    return f"{major}.{int(minor) + 1}.0"


def _unreleased_entries(text: str) -> list[str]:
    section = text.split("## Unreleased", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.strip()]


def _core_pin(repo: Path, pyproject: Path) -> str:
    match = re.search(r'"(traffik-core[^"]*)"', (repo / pyproject).read_text(encoding="utf-8"))
    assert match is not None
    return match.group(1)


def _set_core_lower_bound(repo: Path, pyproject: Path, version: str) -> None:
    path = repo / pyproject
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"traffik-core>=[0-9.]+", f"traffik-core>={version}", text), encoding="utf-8")


def _commit_all(repo: Path, message: str) -> None:
    git(repo, "commit", "-q", "-am", message)


# The tests below make the state they need in their scratch clone (a released or an unreleased
# core, a pending changelog entry) instead of assuming the repository's: main moves through
# releases, and the same tests must hold before and after each one.


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_dry_run_plans_builds_and_changes_nothing(shared_clone: Path, distribution: str, tmp_path: Path) -> None:
    head = git(shared_clone, "rev-parse", "HEAD")
    tags_before = git(shared_clone, "tag", "--list")
    out = tmp_path / "out"

    result = run_script(
        "release.py", distribution, "minor", "--dry-run", "--root", str(shared_clone), "--out", str(out)
    )

    assert result.returncode == 0, result.stderr
    assert f"release {distribution} " in result.stdout
    assert "dry run: nothing is changed" in result.stdout
    built = sorted(path.name for path in out.iterdir())
    assert len(built) == 2, built
    assert built[0].endswith(".whl")
    assert built[1].endswith(".tar.gz")
    assert git(shared_clone, "status", "--porcelain") == ""
    assert git(shared_clone, "rev-parse", "HEAD") == head
    assert git(shared_clone, "tag", "--list") == tags_before


def test_minor_release_of_a_plugin(clone: Path, tmp_path: Path) -> None:
    # The plugin's lower bound on core must name a released core: release the current one first.
    core = _version(clone, CORE_ABOUT)
    if not git(clone, "tag", "--list", f"traffik-core-v{core}"):
        git(clone, "tag", "-a", f"traffik-core-v{core}", "-m", f"traffik-core {core}")
    changelog_path = clone / REDIS_CHANGELOG
    if "## Unreleased" not in changelog_path.read_text(encoding="utf-8"):
        text = changelog_path.read_text(encoding="utf-8")
        head, rest = text.split("\n## ", 1)
        changelog_path.write_text(f"{head}\n## Unreleased\n\n- A pending fix.\n\n## {rest}", encoding="utf-8")
        _commit_all(clone, "A pending traffik-redis change")
    before = _version(clone, REDIS_ABOUT)
    new = _minor(before)
    entries = _unreleased_entries((clone / REDIS_CHANGELOG).read_text(encoding="utf-8"))

    result = run_script("release.py", "traffik-redis", "minor", "--date", "2027-01-15", "--root", str(clone))

    assert result.returncode == 0, result.stderr
    assert _version(clone, REDIS_ABOUT) == new
    changelog = (clone / REDIS_CHANGELOG).read_text(encoding="utf-8")
    assert "## Unreleased" not in changelog
    released = changelog.split(f"## {new} (2027-01-15)\n", 1)[1].split("\n## ", 1)[0]
    assert [line for line in released.splitlines() if line.strip()] == entries
    tag = f"traffik-redis-v{new}"
    assert git(clone, "cat-file", "-t", tag) == "tag"  # annotated
    assert git(clone, "rev-list", "-n", "1", tag) == git(clone, "rev-parse", "HEAD")
    assert git(clone, "log", "-1", "--format=%s") == f"Release traffik-redis {new}"
    assert git(clone, "status", "--porcelain") == ""
    dist = clone / "dist" / "traffik-redis"
    wheel = dist / f"traffik_redis-{new}-py3-none-any.whl"
    sdist = dist / f"traffik_redis-{new}.tar.gz"
    assert sorted(dist.iterdir()) == sorted([wheel, sdist])
    with zipfile.ZipFile(wheel) as archive:
        names = [name for name in archive.namelist() if ".dist-info/" not in name]
    assert names
    assert all(name.startswith("traffik/backends/redis/") for name in names), names

    # Reproducible: the tag rebuilt (as the release workflow does) gives the same bytes.
    again = tmp_path / "again"
    rebuilt = run_script("release.py", "--build-tag", tag, "--out", str(again), "--root", str(clone))
    assert rebuilt.returncode == 0, rebuilt.stderr
    for first in (wheel, sdist):
        second = again / first.name
        assert hashlib.sha256(second.read_bytes()).digest() == hashlib.sha256(first.read_bytes()).digest(), first.name


def test_major_of_core_is_refused_while_plugins_pin_below_3(clone: Path) -> None:
    before = _version(clone, CORE_ABOUT)
    assert before.startswith("2.")
    head = git(clone, "rev-parse", "HEAD")
    tags_before = git(clone, "tag", "--list")
    pin = _core_pin(clone, Path("packages/traffik-redis/pyproject.toml"))
    lower = pin.split(">=", 1)[1].split(",", 1)[0]

    result = run_script("release.py", "traffik-core", "major", "--root", str(clone))

    assert result.returncode == 1
    assert f"packages/traffik-redis/pyproject.toml [project] dependencies: traffik-core<3,>={lower}" in result.stderr
    assert "does not admit traffik-core 3.0.0" in result.stderr
    assert _version(clone, CORE_ABOUT) == before
    assert git(clone, "rev-parse", "HEAD") == head
    assert git(clone, "tag", "--list") == tags_before


def test_plugin_release_is_refused_before_the_core_it_needs_is_released(clone: Path) -> None:
    core = _version(clone, CORE_ABOUT)
    # The plugin needs the current core, and that core has not been tagged yet.
    if git(clone, "tag", "--list", f"traffik-core-v{core}"):
        git(clone, "tag", "-d", f"traffik-core-v{core}")
    _set_core_lower_bound(clone, Path("packages/traffik-redis/pyproject.toml"), core)
    if git(clone, "status", "--porcelain"):
        _commit_all(clone, "traffik-redis needs the current traffik-core")

    result = run_script("release.py", "traffik-redis", "minor", "--root", str(clone))

    assert result.returncode == 1
    assert f"never released (no tag traffik-core-v{core}): release traffik-core {core} first" in result.stderr
    assert git(clone, "status", "--porcelain") == ""


def test_lower_bound_on_a_core_never_released_is_refused_even_in_a_dry_run(clone: Path) -> None:
    major, minor, patch = _version(clone, CORE_ABOUT).split(".")
    unreleased = f"{major}.{minor}.{int(patch) + 1}"  # above the current core: released by nobody
    _set_core_lower_bound(clone, Path("packages/traffik-fastapi/pyproject.toml"), unreleased)

    result = run_script("release.py", "traffik-fastapi", "patch", "--dry-run", "--root", str(clone))

    assert result.returncode == 1
    assert f"needs traffik-core {unreleased}, never released" in result.stderr
    assert "raise the lower bound to a released traffik-core" in result.stderr


def test_a_dirty_tree_is_refused(clone: Path) -> None:
    (clone / "README.md").write_text("changed\n", encoding="utf-8")

    tags_before = git(clone, "tag", "--list")

    result = run_script("release.py", "traffik-core", "patch", "--root", str(clone))

    assert result.returncode == 1
    assert "uncommitted changes" in result.stderr
    assert git(clone, "tag", "--list") == tags_before


def test_unknown_distribution_names_the_known_ones(clone: Path) -> None:
    result = run_script("release.py", "traffik-sqlite", "minor", "--dry-run", "--root", str(clone))

    assert result.returncode == 1
    assert "no distribution 'traffik-sqlite'" in result.stderr
    assert "traffik-redis" in result.stderr
