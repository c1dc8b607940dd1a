"""Finding ``[project.entry-points.traffik]`` without importing ``importlib.metadata``.

``importlib.metadata`` pulls in ``email``, ``zipfile`` and ``pathlib`` and
reads the metadata of every installed distribution: about 10 ms, more than the
whole rest of plugin discovery. Installed distributions describe their entry
points in ``<name>-<version>.dist-info/entry_points.txt`` (``.egg-info`` for
old installs) directly inside a ``sys.path`` directory, so listing those
directories and reading the few files that exist is enough.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = ["EntryPoint", "find_entry_points"]

_METADATA_DIR = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+?)(?:-py[^-]*)?\.(?:dist|egg)-info$")


@dataclass(frozen=True)
class EntryPoint:
    """One ``name = value`` line of a distribution's entry-point group."""

    name: str
    value: str
    distribution: str
    version: str

    @property
    def module(self) -> str:
        """The module part of ``value`` (``package.module[:attribute]``)."""
        return self.value.partition(":")[0].strip()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _group_lines(text: str, group: str) -> Iterator[tuple[str, str]]:
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            in_group = line[1:-1].strip() == group
            continue
        if in_group and "=" in line:
            name, _, value = line.partition("=")
            yield name.strip(), value.strip()


def find_entry_points(group: str, paths: Iterable[str] | None = None) -> list[EntryPoint]:
    """Entry points of ``group`` from distributions on ``paths`` (default ``sys.path``).

    Like ``importlib.metadata``, the first distribution of a given name on the
    path wins, so a shadowed older install is ignored.
    """
    seen: set[str] = set()
    found: list[EntryPoint] = []
    for path in sys.path if paths is None else paths:
        try:
            entries = sorted(os.listdir(path or "."))
        except OSError:  # not a directory (a zip, a missing entry)
            continue
        for entry in entries:
            match = _METADATA_DIR.match(entry)
            if match is None:
                continue
            distribution = _normalise(match["name"])
            if distribution in seen:
                continue
            seen.add(distribution)
            try:
                with open(os.path.join(path or ".", entry, "entry_points.txt"), encoding="utf-8") as file:
                    text = file.read()
            except OSError:
                continue
            for name, value in _group_lines(text, group):
                found.append(EntryPoint(name, value, distribution, match["version"]))
    return found
