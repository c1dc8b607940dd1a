"""The GitHub workflows: valid by the workflow schema, and in step with the repository's distributions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML (from mkdocs) ships no stubs; parsed values are checked

from tests.release.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
DISTRIBUTIONS = {
    "traffik",
    "traffik-core",
    "traffik-redis",
    "traffik-memcached",
    "traffik-fastapi",
    "traffik-testing",
    "traffik-prometheus",
    "traffik-opentelemetry",
}


def _lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert executable is not None, "check-jsonschema is in requirements/test.txt"
    command = [executable, "--builtin-schema", "vendor.github-workflows", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def _load(name: str) -> dict[object, object]:
    loaded = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_every_workflow_passes_the_schema() -> None:
    paths = sorted(WORKFLOWS.glob("*.yml"))
    assert {path.name for path in paths} >= {"ci.yml", "release.yml", "docs.yml"}

    result = _lint(*paths)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: push\njobs:\n  build:\n    steps:\n      - run: true\n", encoding="utf-8")

    result = _lint(broken)

    assert result.returncode != 0
    assert "runs-on" in result.stdout + result.stderr


def test_release_runs_on_the_tag_of_each_distribution_and_publishes_it_alone() -> None:
    release = _load("release.yml")
    triggers = release[True]  # YAML 1.1 reads the key `on` as a boolean
    assert isinstance(triggers, dict)
    assert set(triggers["push"]["tags"]) == {f"{name}-v*" for name in DISTRIBUTIONS}
    publish = release["jobs"]["publish"]  # type: ignore[index]  # parsed YAML
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi-${{ needs.build.outputs.distribution }}"
    assert any(step.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for step in publish["steps"])


def test_ci_runs_the_ci_script_on_each_supported_python() -> None:
    job = _load("ci.yml")["jobs"]["ci"]  # type: ignore[index]  # parsed YAML
    assert job["strategy"]["matrix"]["python-version"] == ["3.10", "3.11", "3.12", "3.13"]
    assert any(step.get("run") == "bash .ci/run" for step in job["steps"])


@pytest.mark.parametrize("name", ["docs.yml"])
def test_docs_deploy_on_a_core_release_with_mike(name: str) -> None:
    docs = _load(name)
    assert docs[True] == {"push": {"tags": ["traffik-core-v*"]}}
    steps = docs["jobs"]["deploy"]["steps"]  # type: ignore[index]  # parsed YAML
    assert any("mike deploy --push --update-aliases" in step.get("run", "") for step in steps)


def test_the_site_offers_the_versions_mike_deploys() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!!python/name:", ""))
    assert config["extra"]["version"] == {"provider": "mike", "default": "latest"}
