"""A distribution's CHANGELOG.md at release time: the ``## Unreleased`` section becomes the version's.

Entries are written under ``## Unreleased`` as changes land (created at the
top when missing). A release renames that heading to ``## <version> (<date>)``
and keeps every line under it; the other sections are left as they are.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from packaging.version import Version

UNRELEASED = "## Unreleased"


@dataclass(frozen=True)
class Unreleased:
    """Where the ``## Unreleased`` section is and what it holds."""

    heading: int
    """Index of its heading line."""
    end: int
    """Index of the first line after it (the next ``## `` heading, or the end)."""
    entries: list[str]
    """Its non-blank lines."""


def find_unreleased(text: str) -> Unreleased | None:
    """The ``## Unreleased`` section of a changelog, or ``None`` when it has none."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.strip().lower() == UNRELEASED.lower():
            end = next(
                (later for later in range(index + 1, len(lines)) if lines[later].startswith("## ")),
                len(lines),
            )
            entries = [body for body in lines[index + 1 : end] if body.strip()]
            return Unreleased(heading=index, end=end, entries=entries)
    return None


def release_heading(version: Version, date: datetime.date) -> str:
    """The heading a released section gets."""
    return f"## {version} ({date.isoformat()})"


def move_unreleased(text: str, version: Version, date: datetime.date) -> str:
    """``text`` with its ``## Unreleased`` heading renamed to the release's.

    Raises:
        ValueError: the changelog has no ``## Unreleased`` section.
    """
    section = find_unreleased(text)
    if section is None:
        raise ValueError(f"no {UNRELEASED!r} section")
    lines = text.splitlines()
    lines[section.heading] = release_heading(version, date)
    return "\n".join(lines) + ("\n" if text.endswith("\n") else "")
