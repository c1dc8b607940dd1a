"""The changelog move and the version bump of scripts/release.py, without git."""

from __future__ import annotations

import datetime
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from packaging.version import Version

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def _load(name: str) -> ModuleType:
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))  # release.py imports its sibling modules by name
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


changelog = _load("changelog")
release = _load("release")

TEXT = """# Changelog

## Unreleased

- Added a thing.
  Continued.
- Fixed another.

## 2.0.0

- First release.
"""


def test_unreleased_becomes_the_release_section() -> None:
    moved = changelog.move_unreleased(TEXT, Version("2.1.0"), datetime.date(2027, 1, 15))

    assert moved == TEXT.replace("## Unreleased", "## 2.1.0 (2027-01-15)")


def test_unreleased_entries_stop_at_the_next_section() -> None:
    section = changelog.find_unreleased(TEXT)

    assert section is not None
    assert section.entries == ["- Added a thing.", "  Continued.", "- Fixed another."]


def test_a_changelog_without_unreleased_cannot_be_moved() -> None:
    assert changelog.find_unreleased("# Changelog\n\n## 2.0.0\n") is None
    with pytest.raises(ValueError, match="Unreleased"):
        changelog.move_unreleased("# Changelog\n\n## 2.0.0\n", Version("2.1.0"), datetime.date(2027, 1, 15))


@pytest.mark.parametrize(
    ("bump", "expected"),
    [("major", "3.0.0"), ("minor", "2.5.0"), ("patch", "2.4.2"), ("2.4.7", "2.4.7")],
    ids=["major", "minor", "patch", "explicit"],
)
def test_next_version(bump: str, expected: str) -> None:
    assert release.next_version(Version("2.4.1"), bump) == Version(expected)


def test_a_bump_that_is_no_version_is_refused() -> None:
    with pytest.raises(release.Refused, match="neither major, minor, patch nor a version"):
        release.next_version(Version("2.4.1"), "bigger")
