"""Build every distribution's wheel and prove that each one ships only its own files.

Usage::

    python scripts/check_wheels.py [--wheel-dir DIR]

The plugin distributions install sub-packages *inside* core's ``traffik``
package, so a plugin wheel that carried ``traffik/__init__.py`` (or core's
``traffik/backends/__init__.py``) would overwrite core's files on install. This
script builds the wheels of the root ``traffik`` distribution and of every
package under ``packages/`` with hatchling (no network: ``pip wheel --no-deps
--no-build-isolation``) and checks:

* traffik-core has ``traffik/__init__.py``, ``traffik/backends/__init__.py`` and
  ``traffik/py.typed``, and nothing of a plugin's sub-packages nor of
  ``traffik/testing`` (no test code in the runtime wheel);
* each plugin has only its own sub-package (with its own ``py.typed``), a
  ``traffik`` entry point inside it, and a traffik-core range that admits the
  current traffik-core;
* traffik-testing has only ``traffik/testing/`` (with its ``py.typed``), the
  ``pytest11`` entry point ``traffik`` naming its pytest plugin, and requires
  pytest, pytest-asyncio and a traffik-core range that admits the current one;
* the root ``traffik`` wheel has no code, requires traffik-core, and has the
  extras redis, memcached, fastapi, prometheus, opentelemetry and all (the runtime plugins, each admitting
  the current version) and testing (traffik-testing, which [all] leaves out);
* every version is at least 2.0.0 (1.x is an unrelated project on the index);
* each wheel ships every file of its package's source tree (bytecode caches
  aside), data files such as the Redis Lua scripts included.

It prints a summary and exits 1 on any violation, 2 if a wheel cannot be built.
"""

from __future__ import annotations

import argparse
import configparser
import email.parser
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
MINIMUM_VERSION = Version("2.0.0")

PLUGIN_SUBPACKAGES = {
    "traffik-redis": "traffik/backends/redis",
    "traffik-memcached": "traffik/backends/memcached",
    "traffik-fastapi": "traffik/decorators",
    "traffik-prometheus": "traffik/prometheus",
    "traffik-opentelemetry": "traffik/opentelemetry",
}
"""Plugin distribution -> the one sub-package its wheel may contain."""

TESTING_SUBPACKAGE = "traffik/testing"
"""The one sub-package traffik-testing's wheel may contain (and traffik-core's must not)."""

TESTING_REQUIRES = ("pytest", "pytest-asyncio")
"""Besides traffik-core, what the pytest plugin imports."""

TESTING_ENTRY_POINT = ("pytest11", "traffik", "traffik.testing.pytest_plugin")
"""Group, name and module of the entry point that makes pytest load the plugin."""

CORE_OWNED = ("traffik/__init__.py", "traffik/backends/__init__.py", "traffik/py.typed")
"""Files only traffik-core may ship (the namespace-merging ``__init__`` files and the package marker)."""

ROOT_EXTRAS = {
    "redis": {"traffik-redis"},
    "memcached": {"traffik-memcached"},
    "fastapi": {"traffik-fastapi"},
    "prometheus": {"traffik-prometheus"},
    "opentelemetry": {"traffik-opentelemetry"},
    "all": {"traffik-redis", "traffik-memcached", "traffik-fastapi", "traffik-prometheus", "traffik-opentelemetry"},
    "testing": {"traffik-testing"},
}
"""Extras of the root ``traffik`` distribution -> the distributions each must pull in."""

RUNTIME_ONLY_EXTRA = "all"
"""The extra that installs everything an application runs with, and no test code."""

SOURCES = {
    "traffik": ROOT,
    "traffik-core": ROOT / "packages" / "traffik-core",
    "traffik-redis": ROOT / "packages" / "traffik-redis",
    "traffik-memcached": ROOT / "packages" / "traffik-memcached",
    "traffik-fastapi": ROOT / "packages" / "traffik-fastapi",
    "traffik-testing": ROOT / "packages" / "traffik-testing",
    "traffik-prometheus": ROOT / "packages" / "traffik-prometheus",
    "traffik-opentelemetry": ROOT / "packages" / "traffik-opentelemetry",
}
"""Every distribution to build, by name, with its project folder."""


@dataclass
class Wheel:
    """What the checks need from one built wheel."""

    name: str
    version: Version
    files: list[str]
    """Paths in the wheel, dist-info excluded."""
    metadata: Message
    entry_points: dict[str, dict[str, str]] = field(default_factory=dict)
    """Entry-point group -> name -> value."""

    @property
    def requirements(self) -> list[Requirement]:
        """The wheel's ``Requires-Dist`` lines."""
        return [Requirement(line) for line in self.metadata.get_all("Requires-Dist") or []]


def read_wheel(path: Path) -> Wheel:
    """Read a wheel's file list, metadata and entry points."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/", 1)[0] for name in names if name.endswith(".dist-info/METADATA"))
        metadata = email.parser.Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode("utf-8"))
        entry_points: dict[str, dict[str, str]] = {}
        if f"{dist_info}/entry_points.txt" in names:
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep entry-point names' case
            parser.read_string(archive.read(f"{dist_info}/entry_points.txt").decode("utf-8"))
            entry_points = {group: dict(parser[group]) for group in parser.sections()}
    files = [name for name in names if not name.startswith(f"{dist_info}/") and not name.endswith("/")]
    return Wheel(
        name=str(metadata["Name"]),
        version=Version(str(metadata["Version"])),
        files=sorted(files),
        metadata=metadata,
        entry_points=entry_points,
    )


def check_version(wheel: Wheel) -> list[str]:
    """Every distribution is numbered from 2.0.0."""
    if wheel.version < MINIMUM_VERSION:
        return [f"version {wheel.version} is below {MINIMUM_VERSION} (1.x is another project on the index)"]
    return []


def check_core(wheel: Wheel) -> list[str]:
    """traffik-core ships the ``traffik`` package and no plugin's sub-package."""
    problems = [f"missing {required}" for required in CORE_OWNED if required not in wheel.files]
    others = {**PLUGIN_SUBPACKAGES, "traffik-testing": TESTING_SUBPACKAGE}
    for distribution, subpackage in others.items():
        problems += [f"contains {name}, which belongs to {distribution}" for name in _under(wheel.files, subpackage)]
    problems += [
        f"contains {name}, outside the traffik package" for name in wheel.files if not _inside(name, "traffik")
    ]
    return problems


def check_plugin(wheel: Wheel, subpackage: str, core_version: Version) -> list[str]:
    """A plugin ships only ``subpackage``, declares its entry point there, and admits the current core."""
    problems = _check_only_subpackage(wheel, subpackage)
    entry_points = wheel.entry_points.get("traffik", {})
    if not entry_points:
        problems.append("declares no [project.entry-points.traffik] entry point")
    for name, value in entry_points.items():
        module_path = value.partition(":")[0].strip().replace(".", "/")
        if f"{module_path}.py" not in wheel.files and f"{module_path}/__init__.py" not in wheel.files:
            problems.append(f"entry point {name} = {value} names a module the wheel does not contain")
    problems += _check_requirement(wheel, "traffik-core", core_version, extra=None)
    return problems


def check_testing(wheel: Wheel, core_version: Version) -> list[str]:
    """traffik-testing ships only ``traffik/testing``, registers its pytest plugin, and admits the current core."""
    problems = _check_only_subpackage(wheel, TESTING_SUBPACKAGE)
    group, name, module = TESTING_ENTRY_POINT
    declared = wheel.entry_points.get(group, {}).get(name)
    if declared is None:
        problems.append(f"declares no [project.entry-points.{group}] {name} = {module!r}")
    elif declared.partition(":")[0].strip() != module:
        problems.append(f"entry point {group} {name} = {declared}, expected {module}")
    elif f"{module.replace('.', '/')}.py" not in wheel.files:
        problems.append(f"entry point {group} {name} = {declared} names a module the wheel does not contain")
    if wheel.entry_points.get("traffik"):
        problems.append("declares a [project.entry-points.traffik] entry point, but it is no traffik plugin")
    problems += _check_requirement(wheel, "traffik-core", core_version, extra=None)
    required = {canonicalize_name(requirement.name) for requirement in wheel.requirements if requirement.marker is None}
    problems += [f"its dependencies do not require {name}" for name in TESTING_REQUIRES if name not in required]
    return problems


def check_root(wheel: Wheel, versions: dict[str, Version]) -> list[str]:
    """The root ``traffik`` wheel is metadata only: core plus one extra per plugin, and ``all``."""
    problems = [f"contains {name}, but the traffik distribution has no code" for name in wheel.files]
    problems += _check_requirement(wheel, "traffik-core", versions["traffik-core"], extra=None)
    extras = set(wheel.metadata.get_all("Provides-Extra") or [])
    for extra, distributions in ROOT_EXTRAS.items():
        if extra not in extras:
            problems.append(f"has no extra [{extra}]")
            continue
        for distribution in sorted(distributions):
            problems += _check_requirement(wheel, distribution, versions[distribution], extra=extra)
    problems += [
        f"extra [{RUNTIME_ONLY_EXTRA}] requires traffik-testing, which is test code"
        for requirement in wheel.requirements
        if canonicalize_name(requirement.name) == "traffik-testing" and _marker_applies(requirement, RUNTIME_ONLY_EXTRA)
    ]
    return problems


def check_sources(wheel: Wheel, source: Path, folder: str) -> list[str]:
    """Every file under ``source/src/folder`` (bytecode caches aside) is in the wheel.

    Guards the non-Python files (Lua scripts, ``py.typed``) that a build
    setting could leave out without any import failing in a checkout.
    """
    root = source / "src"
    expected = sorted(
        path.relative_to(root).as_posix()
        for path in (root / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )
    return [f"does not ship {name}, which is in its source tree" for name in expected if name not in wheel.files]


def _check_only_subpackage(wheel: Wheel, subpackage: str) -> list[str]:
    problems = [f"contains {name}, which belongs to traffik-core" for name in CORE_OWNED if name in wheel.files]
    problems += [
        f"contains {name}, outside its sub-package {subpackage}/"
        for name in wheel.files
        if not _inside(name, subpackage) and name not in CORE_OWNED
    ]
    for required in (f"{subpackage}/__init__.py", f"{subpackage}/py.typed"):
        if required not in wheel.files:
            problems.append(f"missing {required}")
    return problems


def _check_requirement(wheel: Wheel, distribution: str, current: Version, extra: str | None) -> list[str]:
    where = f"extra [{extra}]" if extra else "its dependencies"
    matching = [
        requirement
        for requirement in wheel.requirements
        if canonicalize_name(requirement.name) == canonicalize_name(distribution)
        and _marker_applies(requirement, extra)
    ]
    if not matching:
        return [f"{where} do not require {distribution}"]
    return [
        f"{where}: {requirement} does not admit the current {distribution} {current}"
        for requirement in matching
        if not requirement.specifier.contains(current, prereleases=True)
    ]


def _marker_applies(requirement: Requirement, extra: str | None) -> bool:
    if requirement.marker is None:
        return extra is None
    return extra is not None and requirement.marker.evaluate({"extra": extra})


def _inside(name: str, folder: str) -> bool:
    return name.startswith(f"{folder}/")


def _under(files: Sequence[str], folder: str) -> list[str]:
    return [name for name in files if _inside(name, folder)]


def build_wheels(wheel_dir: Path) -> dict[str, Path]:
    """Build every distribution into ``wheel_dir``; returns distribution name -> wheel path."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir)]
    subprocess.run([*command, *(str(path) for path in SOURCES.values())], check=True)
    wheels: dict[str, Path] = {}
    for path in sorted(wheel_dir.glob("*.whl")):
        name = canonicalize_name(path.name.split("-", 1)[0])
        if name in SOURCES:
            wheels[name] = path
    missing = sorted(set(SOURCES) - set(wheels))
    if missing:
        raise RuntimeError(f"pip built no wheel for {', '.join(missing)}")
    return wheels


def check_all(wheels: dict[str, Wheel]) -> dict[str, list[str]]:
    """Every check for every wheel: distribution name -> problems (empty when clean)."""
    versions = {name: wheel.version for name, wheel in wheels.items()}
    report: dict[str, list[str]] = {}
    for name, wheel in wheels.items():
        problems = check_version(wheel)
        if name == "traffik":
            problems += check_root(wheel, versions)
        elif name == "traffik-core":
            problems += check_core(wheel)
            problems += check_sources(wheel, SOURCES[name], "traffik")
        elif name == "traffik-testing":
            problems += check_testing(wheel, versions["traffik-core"])
            problems += check_sources(wheel, SOURCES[name], TESTING_SUBPACKAGE)
        else:
            problems += check_plugin(wheel, PLUGIN_SUBPACKAGES[name], versions["traffik-core"])
            problems += check_sources(wheel, SOURCES[name], PLUGIN_SUBPACKAGES[name])
        report[name] = problems
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Build, check and summarise; the exit status is 0 only when every wheel is clean."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--wheel-dir", type=Path, help="keep the wheels in this folder (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="traffik-wheels-") as scratch:
        wheel_dir = args.wheel_dir or Path(scratch)
        wheel_dir.mkdir(parents=True, exist_ok=True)
        try:
            paths = build_wheels(wheel_dir)
        except (subprocess.CalledProcessError, RuntimeError) as exc:
            print(f"check_wheels: cannot build the wheels: {exc}", file=sys.stderr)
            return 2
        wheels = {name: read_wheel(path) for name, path in paths.items()}
    report = check_all(wheels)
    for name, wheel in wheels.items():
        status = "ok" if not report[name] else f"{len(report[name])} problem(s)"
        print(f"{name:<22} {wheel.version!s:<8} {len(wheel.files):>3} files  {status}")
    failures = [(name, problem) for name, problems in report.items() for problem in problems]
    for name, problem in failures:
        print(f"check_wheels: {name}: {problem}", file=sys.stderr)
    if failures:
        print(f"check_wheels: FAILED, {len(failures)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_wheels: all {len(wheels)} wheels contain only their own files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
