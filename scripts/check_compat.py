"""Run each plugin's tests against the oldest traffik-core its range admits.

Usage::

    python scripts/check_compat.py [--plugin traffik-redis ...] [--keep DIR]

A plugin declares ``traffik-core>=LOW,<HIGH``. The newest core it admits is
the working tree, which the main test suite runs against. This script tests the
other end: for each plugin it reads LOW, finds the commit that released
traffik-core LOW (the tag ``traffik-core-vLOW``, or before tags existed the
oldest commit whose ``__about__.py`` says LOW), builds that core from ``git
archive``, installs its wheel with the plugin's and traffik-testing's wheels
(built from the working tree) into a fresh virtual environment, and runs the
plugin's fast tests and, for a backend, the spec suite. Where LOW is the
current core version it says so and uses the working tree's core.

Plugins with the same LOW share one environment. Exits 1 if a test fails or a
lower bound names a core version that never existed, 2 if a build fails.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from distributions import ROOT, Distribution, commit_with_version, discover, pins, read_version, tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

CORE = "traffik-core"
TESTING = "traffik-testing"


@dataclass(frozen=True)
class Suite:
    """What to run for one plugin: test paths under the repository, and extra pytest options."""

    paths: tuple[str, ...]
    options: tuple[str, ...] = ()


SUITES = {
    "traffik-redis": Suite(("tests/redis/test_plugin.py",), ("--traffik-spec", "--traffik-backend=redis")),
    "traffik-memcached": Suite(
        ("tests/memcached/test_construction.py",), ("--traffik-spec", "--traffik-backend=memcached")
    ),
    "traffik-fastapi": Suite(("tests/fastapi/test_plugin.py",)),
    "traffik-prometheus": Suite(("tests/prometheus",)),
    "traffik-opentelemetry": Suite(("tests/opentelemetry",)),
}
"""The fast tests that prove a plugin loads and works on a core: its plugin/construction tests and the spec suite."""

TEST_TOOLS = ("pytest", "pytest-asyncio", "hypothesis", "httpx", "httpx2", "fastapi", "opentelemetry-sdk")
"""What the repository's test modules import besides the distributions (ranges from requirements/test.txt)."""


def test_tool_requirements(root: Path) -> list[str]:
    """The :data:`TEST_TOOLS` lines of ``requirements/test.txt``, with their ranges."""
    lines: list[str] = []
    for raw in (root / "requirements" / "test.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line and canonicalize_name(Requirement(line).name) in TEST_TOOLS:
            lines.append(line)
    return lines


def core_lower_bounds(root: Path, plugins: Sequence[str]) -> dict[Version, list[str]]:
    """Lower bound of traffik-core -> the plugins that declare it."""
    grouped: dict[Version, list[str]] = {}
    for pin in pins(root):
        if pin.owner in plugins and canonicalize_name(pin.requirement.name) == CORE:
            lower = pin.lower_bound
            if lower is None:
                raise SystemExit(f"check_compat: {pin.where}: {pin.requirement} has no lower bound")
            grouped.setdefault(lower, []).append(pin.owner)
    return grouped


def core_source(root: Path, core: Distribution, lower: Version, scratch: Path) -> Path | None:
    """The folder to build traffik-core ``lower`` from, or ``None`` when no commit has that version."""
    current = read_version(core, root)
    if lower == current:
        print(f"  traffik-core {lower} is the current version: testing against the working tree")
        return root / core.project
    commit = commit_with_version(root, core, lower)
    if commit is None:
        return None
    tagged = core.tag(lower) in tags(root, core).values()
    how = f"tag {core.tag(lower)}" if tagged else "no release tag: the oldest commit with that version"
    print(f"  traffik-core {lower}: built from commit {commit[:12]} ({how}), with git archive")
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", commit, "--", core.project.as_posix()],
        check=True,
        capture_output=True,
    ).stdout
    target = scratch / "core-src"
    target.mkdir()
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target / core.project


def build_wheels(sources: Sequence[Path], wheel_dir: Path) -> list[Path]:
    """Wheels of ``sources`` (no dependencies, no isolation: hatchling comes from this environment)."""
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheel_dir)]
    subprocess.run([*command, *map(str, sources)], check=True)
    return sorted(wheel_dir.glob("*.whl"))


def make_venv(venv: Path, wheels: Sequence[Path], tools: Sequence[str]) -> Path:
    """A fresh environment with exactly these wheels (third-party dependencies from the index); its python."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Wheel files, never names: `traffik*` names on the index belong to other projects.
    install = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *map(str, wheels), *tools]
    result = subprocess.run(install, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        # pip's own words on a resolution or download failure; its warnings are noise otherwise.
        print(result.stdout + result.stderr, file=sys.stderr)
        raise subprocess.CalledProcessError(result.returncode, install)
    return python


def installed_core(python: Path) -> str:
    """The traffik-core version the environment imports, and from where (proves the checkout is not used)."""
    probe = "import traffik, traffik.__about__ as about; print(about.__version__, traffik.__file__)"
    return subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True).stdout.strip()


def run_suites(root: Path, python: Path, plugins: Sequence[str]) -> list[str]:
    """Run each plugin's suite; returns the plugins whose tests failed."""
    failed: list[str] = []
    for plugin in plugins:
        suite = SUITES[plugin]
        command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *suite.paths, *suite.options]
        print(f"  {plugin}: {' '.join(command[1:])}", flush=True)
        if subprocess.run(command, cwd=root, check=False).returncode != 0:
            failed.append(plugin)
    return failed


def check(root: Path, plugins: Sequence[str], keep: Path | None) -> int:
    """Every plugin against its lower bound of traffik-core; the exit status."""
    distributions = discover(root)
    core = distributions[CORE]
    failures: list[str] = []
    for lower, group in sorted(core_lower_bounds(root, plugins).items()):
        print(f"traffik-core>={lower}: {', '.join(group)}", flush=True)
        with tempfile.TemporaryDirectory(prefix="traffik-compat-") as name:
            scratch = keep or Path(name)
            scratch.mkdir(parents=True, exist_ok=True)
            source = core_source(root, core, lower, scratch)
            if source is None:
                failures += [f"{plugin}: no commit of traffik-core has version {lower}" for plugin in group]
                continue
            sources = [source, *(root / distributions[name].project for name in [*group, TESTING])]
            try:
                wheels = build_wheels(sources, scratch / "wheels")
                python = make_venv(scratch / "venv", wheels, test_tool_requirements(root))
            except subprocess.CalledProcessError as exc:
                print(f"check_compat: cannot set up the environment: {exc}", file=sys.stderr)
                return 2
            where = installed_core(python)
            print(f"  imports traffik-core {where}", flush=True)
            if not where.startswith(f"{lower} ") or str(root / "packages") in where:
                failures.append(f"the environment imports traffik-core {where}, not the built {lower}")
                continue
            failures += [
                f"{plugin}: its tests fail on traffik-core {lower}, the lower bound it declares: raise the bound "
                "to the core release that has what it uses"
                for plugin in run_suites(root, python, group)
            ]
            if keep is None:
                shutil.rmtree(scratch / "venv", ignore_errors=True)
    for failure in failures:
        print(f"check_compat: {failure}", file=sys.stderr)
    if not failures:
        print("check_compat: every plugin passes on the oldest traffik-core it admits")
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--plugin", action="append", choices=sorted(SUITES), help="only this plugin (repeatable)")
    parser.add_argument("--keep", type=Path, help="build and install in this folder and keep it (for debugging)")
    args = parser.parse_args(argv)
    return check(ROOT, args.plugin or sorted(SUITES), args.keep)


if __name__ == "__main__":
    sys.exit(main())
