"""The hatch environments of pyproject.toml parse, install the local packages by path, pin the oldest clients."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.release.conftest import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


@pytest.fixture(scope="module")
def environments() -> dict[str, Any]:
    hatch = Path(sys.executable).parent / "hatch"
    result = subprocess.run(
        [str(hatch), "env", "show", "--json"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    shown: dict[str, Any] = json.loads(result.stdout)
    return shown


def _declared_ranges() -> dict[str, Requirement]:
    """Every third-party requirement the distributions declare, by name."""
    ranges: dict[str, Requirement] = {}  # canonical names
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        for line in project.get("dependencies", []):
            requirement = Requirement(line)
            ranges.setdefault(str(canonicalize_name(requirement.name)), requirement)
    return ranges


@pytest.mark.parametrize("name", ["default", "test.oldest", "test.newest", "lint", "docs", "bench"])
def test_environment_installs_the_local_packages_by_path(environments: dict[str, Any], name: str) -> None:
    environment = environments[name]
    members = environment["workspace"]["members"]
    assert environment["skip-install"] is True  # installing the root project would look up traffik on the index
    assert {Path(member).name for member in members} == {p.name for p in (ROOT / "packages").glob("traffik-*")}
    named = environment.get("dependencies", []) + environment.get("extra-dependencies", [])
    assert not [line for line in named if canonicalize_name(Requirement(line).name).startswith("traffik")]


def test_oldest_clients_are_the_oldest_the_distributions_admit(environments: dict[str, Any]) -> None:
    constraints = ROOT / "requirements" / "oldest.txt"
    assert environments["test.oldest"]["env-vars"] == {"PIP_CONSTRAINT": str(constraints)}
    assert "env-vars" not in environments["test.newest"]
    lines = [line.strip() for line in constraints.read_text(encoding="utf-8").splitlines()]
    pins = {
        str(canonicalize_name(Requirement(line).name)): Requirement(line) for line in lines if line and line[0] != "#"
    }
    declared = _declared_ranges()
    for name in ("redis", "aiomcache", "fastapi", "starlette", "prometheus-client", "opentelemetry-api"):
        pinned = Version(next(iter(pins[name].specifier)).version)
        assert declared[name].specifier.contains(pinned), f"{name} {pinned} is outside {declared[name]}"
    # The declared lower bounds themselves, where they install together.
    assert str(pins["redis"].specifier) == "==5.0.1"
    assert str(declared["redis"].specifier) == ">=5.0.1"
    assert str(pins["aiomcache"].specifier) == "==0.8.0"
    assert str(declared["aiomcache"].specifier) == ">=0.8"
    assert str(pins["starlette"].specifier) == "==0.41.0"
    assert str(declared["starlette"].specifier) == ">=0.41"
    assert str(pins["fastapi"].specifier) == "==0.115.3"
    assert str(declared["fastapi"].specifier) == ">=0.115.3"
    assert str(pins["prometheus-client"].specifier) == "==0.20.0"
    assert str(declared["prometheus-client"].specifier) == ">=0.20"
    assert str(pins["opentelemetry-api"].specifier) == "==1.30.0"
    assert str(declared["opentelemetry-api"].specifier) == ">=1.30"
