"""Scratch clones of the repository for the release tests: a release commits and tags, so never here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release-test@example.invalid",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release-test@example.invalid",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its standard output, stripped."""
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``scripts/<name>`` of this checkout with this interpreter (a clone is passed with ``--root``)."""
    env = {**os.environ, **GIT_IDENTITY}
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args], capture_output=True, text=True, env=env, check=False
    )


def _clone(target: Path) -> Path:
    # The committed tree: what CI and a release see, without anyone's uncommitted work.
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    return target


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh clone that a test may commit and tag in."""
    return _clone(tmp_path / "repo")


@pytest.fixture(scope="module")
def shared_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One clone for the tests that must leave it unchanged (and check that they do)."""
    return _clone(tmp_path_factory.mktemp("shared") / "repo")
