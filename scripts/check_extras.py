"""Prove that ``traffik[all,testing]`` resolves to this repository's distributions, at their current versions.

Usage::

    python scripts/check_extras.py [--keep DIR]

Builds every distribution's wheel (as ``scripts/check_wheels.py`` does), fetches
the third-party dependencies they declare into a second folder, then asks pip's
resolver, with the index switched off, what ``pip install
"traffik[all,testing]==<root version>"`` would install. With no index, the
unrelated ``traffik`` 1.x on it cannot be picked, and a pin of the root
distribution that admits no local version fails the resolution instead of
silently reaching for the index. Every local distribution must be in the
answer, at the version its tree declares. Exits 1 on a mismatch or an
unresolvable set, 2 if a build or a download fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from check_wheels import build_wheels, read_wheel
from distributions import ROOT, discover, read_version
from packaging.utils import canonicalize_name

EXTRAS = "all,testing"


def third_party_requirements(wheels: Sequence[Path], local: set[str]) -> list[str]:
    """The ``Requires-Dist`` lines of ``wheels`` that name no local distribution, extras' included."""
    found: set[str] = set()
    for path in wheels:
        for requirement in read_wheel(path).requirements:
            if canonicalize_name(requirement.name) not in local:
                requirement.marker = None  # an extra's requirement is wanted too: EXTRAS asks for them
                found.add(str(requirement))
    return sorted(found)


def resolve(wheel_dir: Path, deps_dir: Path, version: str) -> dict[str, str]:
    """What pip would install for the root's extras from these two folders only: name -> version."""
    with tempfile.TemporaryDirectory(prefix="traffik-resolve-") as scratch:
        report = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            "--find-links",
            str(wheel_dir),
            "--find-links",
            str(deps_dir),
            "--report",
            str(report),
            f"traffik[{EXTRAS}]=={version}",
        ]
        subprocess.run(command, check=True)
        installs = json.loads(report.read_text(encoding="utf-8"))["install"]
    return {canonicalize_name(item["metadata"]["name"]): str(item["metadata"]["version"]) for item in installs}


def check(root: Path, keep: Path | None) -> int:
    """Build, fetch, resolve and compare; the exit status."""
    distributions = discover(root)
    expected = {name: str(read_version(distribution, root)) for name, distribution in distributions.items()}
    with tempfile.TemporaryDirectory(prefix="traffik-extras-") as name:
        scratch = keep or Path(name)
        wheel_dir, deps_dir = scratch / "wheels", scratch / "deps"
        wheel_dir.mkdir(parents=True, exist_ok=True)
        try:
            wheels = list(build_wheels(wheel_dir).values())
            requirements = third_party_requirements(wheels, set(distributions))
            download = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d"]
            subprocess.run([*download, str(deps_dir), *requirements], check=True, capture_output=True)
        except (subprocess.CalledProcessError, RuntimeError) as exc:
            print(f"check_extras: cannot build the wheels or fetch their dependencies: {exc}", file=sys.stderr)
            return 2
        try:
            resolved = resolve(wheel_dir, deps_dir, expected["traffik"])
        except subprocess.CalledProcessError:
            print(
                f"check_extras: traffik[{EXTRAS}]=={expected['traffik']} does not resolve (pip above)", file=sys.stderr
            )
            return 1
    problems = [
        f"{dist}: resolved {resolved.get(dist, 'nothing')}, the tree has {version}"
        for dist, version in expected.items()
        if resolved.get(dist) != version
    ]
    for dist in sorted(expected):
        print(f"{dist:<18} {resolved.get(dist, '-')}")
    print(f"third-party: {', '.join(f'{n} {v}' for n, v in sorted(resolved.items()) if n not in expected)}")
    for problem in problems:
        print(f"check_extras: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the check."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--keep", type=Path, help="keep the wheels and the resolver's inputs in this folder")
    args = parser.parse_args(argv)
    return check(ROOT, args.keep)


if __name__ == "__main__":
    sys.exit(main())
