"""The repository's distributions, their versions, changelogs and the pins between them.

Shared by ``scripts/release.py``, ``scripts/check_compat.py`` and
``scripts/check_extras.py``. Every distribution is found from the files
themselves, so a new ``packages/traffik-*`` needs no change here:

* the root ``traffik`` (code-less) keeps its version in ``pyproject.toml``;
* each ``packages/*/pyproject.toml`` names its version file in
  ``[tool.hatch.version] path`` (an ``__about__.py`` with ``__version__``).

Each has a ``CHANGELOG.md`` beside its ``pyproject.toml`` and releases under the
tag ``<name>-v<version>``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: requirements/test.txt installs tomli there
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]

_ABOUT_VERSION = re.compile(r'^__version__ = "(?P<version>[^"]+)"$', re.MULTILINE)
_PYPROJECT_VERSION = re.compile(r'^version = "(?P<version>[^"]+)"$', re.MULTILINE)


@dataclass(frozen=True)
class Distribution:
    """One separately released distribution of the repository."""

    name: str
    project: Path
    """The folder of its ``pyproject.toml``, relative to the repository root."""
    version_file: Path
    """The file holding its version, relative to the repository root."""
    sources: tuple[Path, ...]
    """What its build reads, relative to the repository root: the project folder, or its sdist's ``only-include``."""

    @property
    def changelog(self) -> Path:
        """Its ``CHANGELOG.md``, relative to the repository root."""
        return self.project / "CHANGELOG.md"

    @property
    def tag_prefix(self) -> str:
        """Its release tags are ``<tag_prefix><version>``."""
        return f"{self.name}-v"

    def tag(self, version: Version) -> str:
        """The annotated tag that marks the release of ``version``."""
        return f"{self.tag_prefix}{version}"

    def version_pattern(self) -> re.Pattern[str]:
        """The pattern whose ``version`` group is the version in :attr:`version_file`."""
        return _PYPROJECT_VERSION if self.version_file.name == "pyproject.toml" else _ABOUT_VERSION


@dataclass(frozen=True)
class Pin:
    """A requirement of one distribution on another one of the repository."""

    owner: str
    """The distribution that declares the requirement."""
    where: str
    """The file and table that declare it, for messages."""
    requirement: Requirement

    @property
    def lower_bound(self) -> Version | None:
        """The version of its ``>=`` (or ``==``, ``~=``) clause, if it has one."""
        bounds = [Version(spec.version) for spec in self.requirement.specifier if spec.operator in {">=", "==", "~="}]
        return max(bounds) if bounds else None


def _pyproject(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def discover(root: Path = ROOT) -> dict[str, Distribution]:
    """Every distribution of the repository at ``root``, by canonical name, the root one first."""
    found: dict[str, Distribution] = {}
    for pyproject in [root / "pyproject.toml", *sorted((root / "packages").glob("*/pyproject.toml"))]:
        data = _pyproject(pyproject)
        project = data["project"]
        assert isinstance(project, dict)
        name = canonicalize_name(str(project["name"]))
        folder = pyproject.parent.relative_to(root)
        if "version" in project:
            version_file = folder / "pyproject.toml"
        else:
            hatch_version = data["tool"]["hatch"]["version"]
            version_file = folder / str(hatch_version["path"])
        sdist = data.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("sdist", {})
        # The root project is the whole repository: its sdist names the few files it ships.
        sources = tuple(folder / path for path in sdist.get("only-include", [])) or (folder,)
        found[name] = Distribution(name=name, project=folder, version_file=version_file, sources=sources)
    return found


def read_version(distribution: Distribution, root: Path = ROOT) -> Version:
    """The version ``distribution`` declares in its version file."""
    text = (root / distribution.version_file).read_text(encoding="utf-8")
    match = distribution.version_pattern().search(text)
    if match is None:
        raise ValueError(f"{distribution.version_file}: no version found")
    try:
        return Version(match["version"])
    except InvalidVersion as exc:
        raise ValueError(f"{distribution.version_file}: {exc}") from exc


def write_version(distribution: Distribution, version: Version, root: Path = ROOT) -> None:
    """Replace the version in ``distribution``'s version file, leaving the rest as it is."""
    path = root / distribution.version_file
    text = path.read_text(encoding="utf-8")
    pattern = distribution.version_pattern()
    match = pattern.search(text)
    if match is None:
        raise ValueError(f"{distribution.version_file}: no version found")
    start, end = match.span("version")
    path.write_text(text[:start] + str(version) + text[end:], encoding="utf-8")


def pins(root: Path = ROOT) -> list[Pin]:
    """Every requirement that one distribution of the repository declares on another."""
    distributions = discover(root)
    found: list[Pin] = []
    for distribution in distributions.values():
        pyproject = distribution.project / "pyproject.toml"
        project = _pyproject(root / pyproject)["project"]
        assert isinstance(project, dict)
        tables: list[tuple[str, list[str]]] = [(f"{pyproject} [project] dependencies", project.get("dependencies", []))]
        for extra, lines in project.get("optional-dependencies", {}).items():
            tables.append((f"{pyproject} [project.optional-dependencies] {extra}", lines))
        for where, lines in tables:
            for line in lines:
                requirement = Requirement(line)
                if canonicalize_name(requirement.name) in distributions:
                    found.append(Pin(owner=distribution.name, where=where, requirement=requirement))
    return found


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` and return its standard output, stripped."""
    result = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True)
    return result.stdout.strip()


def tags(root: Path, distribution: Distribution) -> dict[Version, str]:
    """The release tags of ``distribution``: version -> tag name."""
    found: dict[Version, str] = {}
    for name in git(root, "tag", "--list", f"{distribution.tag_prefix}*").splitlines():
        try:
            found[Version(name.removeprefix(distribution.tag_prefix))] = name
        except InvalidVersion:
            continue
    return found


def commit_with_version(root: Path, distribution: Distribution, version: Version) -> str | None:
    """The commit that released ``version``: its tag if there is one, else the oldest commit whose file has it.

    Without a tag (the history before the release command existed), the
    commit that first set the version is the best stand-in for the release.
    """
    tag = tags(root, distribution).get(version)
    if tag is not None:
        return git(root, "rev-list", "-n", "1", tag)
    needle = f'"{version}"'
    candidates = git(root, "log", "--format=%H", "-S", needle, "--", str(distribution.version_file)).splitlines()
    for commit in reversed(candidates):
        text = git(root, "show", f"{commit}:{distribution.version_file.as_posix()}")
        match = distribution.version_pattern().search(text)
        if match is not None and Version(match["version"]) == version:
            return commit
    return None
