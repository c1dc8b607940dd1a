"""scripts/check_wheels.py: each wheel ships only its own files (the build itself is the slow test)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from email.message import Message
from pathlib import Path
from types import ModuleType

import pytest
from packaging.version import Version

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_wheels.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_wheels", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check_wheels = _load_script()


def _wheel(
    name: str,
    files: list[str],
    *,
    version: str = "2.0.0",
    requires: tuple[str, ...] = (),
    extras: tuple[str, ...] = (),
    entry_points: dict[str, dict[str, str]] | None = None,
) -> object:
    metadata = Message()
    metadata["Name"] = name
    metadata["Version"] = version
    for requirement in requires:
        metadata["Requires-Dist"] = requirement
    for extra in extras:
        metadata["Provides-Extra"] = extra
    return check_wheels.Wheel(
        name=name, version=Version(version), files=files, metadata=metadata, entry_points=entry_points or {}
    )


CORE_FILES = ["traffik/__init__.py", "traffik/backends/__init__.py", "traffik/py.typed", "traffik/rates.py"]
REDIS_FILES = [
    "traffik/backends/redis/__init__.py",
    "traffik/backends/redis/_plugin.py",
    "traffik/backends/redis/py.typed",
]
REDIS_ENTRY = {"traffik": {"redis": "traffik.backends.redis._plugin"}}
CORE_RANGE = "traffik-core>=2.0.0,<3"


def _redis(files: list[str] = REDIS_FILES, **options: object) -> object:
    settings: dict[str, object] = {"requires": (CORE_RANGE, "redis>=5"), "entry_points": REDIS_ENTRY}
    settings.update(options)
    return _wheel("traffik-redis", files, **settings)  # type: ignore[arg-type]  # test helper passes through


def test_clean_core_and_plugin_have_no_problems() -> None:
    assert check_wheels.check_core(_wheel("traffik-core", CORE_FILES)) == []
    assert check_wheels.check_plugin(_redis(), "traffik/backends/redis", Version("2.0.0")) == []


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (CORE_FILES[1:], "missing traffik/__init__.py"),
        ([f for f in CORE_FILES if f != "traffik/py.typed"], "missing traffik/py.typed"),
        (
            [*CORE_FILES, "traffik/backends/redis/__init__.py"],
            "contains traffik/backends/redis/__init__.py, which belongs to traffik-redis",
        ),
        (
            [*CORE_FILES, "traffik/decorators/x.py"],
            "contains traffik/decorators/x.py, which belongs to traffik-fastapi",
        ),
        ([*CORE_FILES, "tests/test_x.py"], "contains tests/test_x.py, outside the traffik package"),
        (
            [*CORE_FILES, "traffik/testing/__init__.py"],
            "contains traffik/testing/__init__.py, which belongs to traffik-testing",
        ),
    ],
)
def test_core_violations_are_reported(files: list[str], problem: str) -> None:
    assert check_wheels.check_core(_wheel("traffik-core", files)) == [problem]


@pytest.mark.parametrize(
    ("wheel", "problem"),
    [
        (_redis([*REDIS_FILES, "traffik/__init__.py"]), "contains traffik/__init__.py, which belongs to traffik-core"),
        (
            _redis([*REDIS_FILES, "traffik/backends/__init__.py"]),
            "contains traffik/backends/__init__.py, which belongs to traffik-core",
        ),
        (_redis([*REDIS_FILES, "traffik/py.typed"]), "contains traffik/py.typed, which belongs to traffik-core"),
        (
            _redis([*REDIS_FILES, "traffik/backends/memcached/x.py"]),
            "contains traffik/backends/memcached/x.py, outside its sub-package traffik/backends/redis/",
        ),
        (_redis(REDIS_FILES[:2]), "missing traffik/backends/redis/py.typed"),
        (_redis(entry_points={}), "declares no [project.entry-points.traffik] entry point"),
        (
            _redis(entry_points={"traffik": {"redis": "traffik.backends.redis._gone"}}),
            "entry point redis = traffik.backends.redis._gone names a module the wheel does not contain",
        ),
        (_redis(requires=("redis>=5",)), "its dependencies do not require traffik-core"),
        (
            _redis(requires=("traffik-core>=3,<4",)),
            "its dependencies: traffik-core<4,>=3 does not admit the current traffik-core 2.0.0",
        ),
    ],
)
def test_plugin_violations_are_reported(wheel: object, problem: str) -> None:
    assert check_wheels.check_plugin(wheel, "traffik/backends/redis", Version("2.0.0")) == [problem]


TESTING_FILES = [
    "traffik/testing/__init__.py",
    "traffik/testing/py.typed",
    "traffik/testing/pytest_plugin.py",
    "traffik/testing/spec/__init__.py",
]
TESTING_ENTRY = {"pytest11": {"traffik": "traffik.testing.pytest_plugin"}}
TESTING_REQUIRES = (CORE_RANGE, "pytest>=8.2", "pytest-asyncio>=0.24")


def _testing(files: list[str] = TESTING_FILES, **options: object) -> object:
    settings: dict[str, object] = {"requires": TESTING_REQUIRES, "entry_points": TESTING_ENTRY}
    settings.update(options)
    return _wheel("traffik-testing", files, **settings)  # type: ignore[arg-type]  # test helper passes through


def test_clean_testing_wheel_has_no_problems() -> None:
    assert check_wheels.check_testing(_testing(), Version("2.0.0")) == []


@pytest.mark.parametrize(
    ("wheel", "problem"),
    [
        (
            _testing([*TESTING_FILES, "traffik/__init__.py"]),
            "contains traffik/__init__.py, which belongs to traffik-core",
        ),
        (
            _testing([*TESTING_FILES, "traffik/clock.py"]),
            "contains traffik/clock.py, outside its sub-package traffik/testing/",
        ),
        (_testing(TESTING_FILES[::2]), "missing traffik/testing/py.typed"),
        (
            _testing(entry_points={}),
            "declares no [project.entry-points.pytest11] traffik = 'traffik.testing.pytest_plugin'",
        ),
        (
            _testing(entry_points={"pytest11": {"traffik": "traffik.testing.other"}}),
            "entry point pytest11 traffik = traffik.testing.other, expected traffik.testing.pytest_plugin",
        ),
        (
            _testing(TESTING_FILES[:2] + TESTING_FILES[3:]),
            "entry point pytest11 traffik = traffik.testing.pytest_plugin names a module the wheel does not contain",
        ),
        (
            _testing(entry_points={**TESTING_ENTRY, **REDIS_ENTRY}),
            "declares a [project.entry-points.traffik] entry point, but it is no traffik plugin",
        ),
        (_testing(requires=TESTING_REQUIRES[1:]), "its dependencies do not require traffik-core"),
        (
            _testing(requires=("traffik-core>=3,<4", *TESTING_REQUIRES[1:])),
            "its dependencies: traffik-core<4,>=3 does not admit the current traffik-core 2.0.0",
        ),
        (_testing(requires=TESTING_REQUIRES[:2]), "its dependencies do not require pytest-asyncio"),
    ],
)
def test_testing_violations_are_reported(wheel: object, problem: str) -> None:
    assert check_wheels.check_testing(wheel, Version("2.0.0")) == [problem]


ROOT_REQUIRES = (
    CORE_RANGE,
    'traffik-redis<3,>=2.0.0; extra == "redis"',
    'traffik-memcached<3,>=2.0.0; extra == "memcached"',
    'traffik-fastapi<3,>=2.0.0; extra == "fastapi"',
    'traffik-prometheus<3,>=2.0.0; extra == "prometheus"',
    'traffik-opentelemetry<3,>=2.0.0; extra == "opentelemetry"',
    'traffik-redis<3,>=2.0.0; extra == "all"',
    'traffik-memcached<3,>=2.0.0; extra == "all"',
    'traffik-prometheus<3,>=2.0.0; extra == "all"',
    'traffik-opentelemetry<3,>=2.0.0; extra == "all"',
    'traffik-fastapi<3,>=2.0.0; extra == "all"',
    'traffik-testing<3,>=2.0.0; extra == "testing"',
)
ROOT_EXTRAS = ("redis", "memcached", "fastapi", "prometheus", "opentelemetry", "all", "testing")
VERSIONS = {
    name: Version("2.0.0")
    for name in (
        "traffik-core",
        "traffik-redis",
        "traffik-memcached",
        "traffik-fastapi",
        "traffik-testing",
        "traffik-prometheus",
        "traffik-opentelemetry",
    )
}


def test_clean_root_has_no_problems() -> None:
    root = _wheel("traffik", [], requires=ROOT_REQUIRES, extras=ROOT_EXTRAS)
    assert check_wheels.check_root(root, VERSIONS) == []


@pytest.mark.parametrize(
    ("files", "requires", "extras", "problem"),
    [
        (
            ["traffik/__init__.py"],
            ROOT_REQUIRES,
            ROOT_EXTRAS,
            "contains traffik/__init__.py, but the traffik distribution has no code",
        ),
        (
            [],
            ROOT_REQUIRES[1:],
            ROOT_EXTRAS,
            "its dependencies do not require traffik-core",
        ),
        (
            [],
            ROOT_REQUIRES,
            ("redis", "memcached", "fastapi", "prometheus", "opentelemetry", "testing"),
            "has no extra [all]",
        ),
        (
            [],
            ROOT_REQUIRES[:-2] + ROOT_REQUIRES[-1:],
            ROOT_EXTRAS,
            "extra [all] do not require traffik-fastapi",
        ),
        ([], ROOT_REQUIRES, ROOT_EXTRAS[:-1], "has no extra [testing]"),
        ([], ROOT_REQUIRES[:-1], ROOT_EXTRAS, "extra [testing] do not require traffik-testing"),
        (
            [],
            (*ROOT_REQUIRES, 'traffik-testing<3,>=2.0.0; extra == "all"'),
            ROOT_EXTRAS,
            "extra [all] requires traffik-testing, which is test code",
        ),
    ],
)
def test_root_violations_are_reported(
    files: list[str], requires: tuple[str, ...], extras: tuple[str, ...], problem: str
) -> None:
    root = _wheel("traffik", files, requires=requires, extras=extras)
    assert check_wheels.check_root(root, VERSIONS) == [problem]


def test_version_below_two_is_reported() -> None:
    assert check_wheels.check_version(_wheel("traffik-core", CORE_FILES, version="1.2.0")) == [
        "version 1.2.0 is below 2.0.0 (1.x is another project on the index)"
    ]


def test_a_source_file_missing_from_the_wheel_is_reported(tmp_path: Path) -> None:
    lua = tmp_path / "src" / "traffik" / "backends" / "redis" / "lua" / "helpers"
    lua.mkdir(parents=True)
    (lua / "next_up.lua").write_text("local function next_up(x) end\n")
    cache = tmp_path / "src" / "traffik" / "backends" / "redis" / "__pycache__"
    cache.mkdir()
    (cache / "_scripts.cpython-311.pyc").write_bytes(b"")
    for name in REDIS_FILES:
        (tmp_path / "src" / name).write_text("")
    assert check_wheels.check_sources(_redis(), tmp_path, "traffik/backends/redis") == [
        "does not ship traffik/backends/redis/lua/helpers/next_up.lua, which is in its source tree"
    ]
    shipped = _redis([*REDIS_FILES, "traffik/backends/redis/lua/helpers/next_up.lua"])
    assert check_wheels.check_sources(shipped, tmp_path, "traffik/backends/redis") == []


@pytest.mark.slow
def test_built_wheels_contain_only_their_own_files(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--wheel-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    names = (
        "traffik",
        "traffik-core",
        "traffik-redis",
        "traffik-memcached",
        "traffik-fastapi",
        "traffik-testing",
        "traffik-prometheus",
        "traffik-opentelemetry",
    )
    for name in names:
        assert any(line.split()[0] == name and line.endswith("  ok") for line in lines), result.stdout
    assert lines[-1] == "check_wheels: all 8 wheels contain only their own files"
    assert len(list(tmp_path.glob("*.whl"))) == 8
