"""scripts/check_plugin_imports.py: plugins import only traffik-core's public modules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_plugin_imports.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_plugin_imports", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check = _load_script()

CORE_FILES = {
    "traffik/__init__.py": "",
    "traffik/_lazy.py": "",
    "traffik/lazy.py": "",
    "traffik/__about__.py": "",
    "traffik/strategies/__init__.py": "",
    "traffik/strategies/_base.py": "",
    "traffik/backends/__init__.py": "",
    "traffik/backends/base.py": "",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    _write(tmp_path / "packages" / "traffik-core" / "src", CORE_FILES)
    return tmp_path


def _plugin(repo: Path, source: str, name: str = "_backend.py") -> Path:
    src = repo / "packages" / "traffik-fake" / "src"
    _write(src, {"traffik/backends/fake/__init__.py": "", f"traffik/backends/fake/{name}": source})
    return src / "traffik" / "backends" / "fake" / name


PRIVATE = {
    "from-private-module": ("from traffik.strategies._base import Decision\n", "traffik.strategies._base"),
    "import-private-module": ("import traffik._lazy\n", "traffik._lazy"),
    "private-submodule-as-name": ("from traffik import _lazy\n", "traffik._lazy"),
    "private-name": ("from traffik.backends.base import _active_backend\n", "traffik.backends.base._active_backend"),
    "relative": ("from ...strategies._base import State\n", "traffik.strategies._base"),
    "type-checking-only": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from traffik.strategies._base import State\n",
        "traffik.strategies._base",
    ),
}


@pytest.mark.parametrize(("source", "target"), list(PRIVATE.values()), ids=list(PRIVATE))
def test_a_planted_private_core_import_fails_the_check(
    repo: Path, source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    planted = _plugin(repo, source)
    assert check.main(["--root", str(repo)]) == 1
    out = capsys.readouterr().out
    line = source.count("\n", 0, source.index("traffik") if "traffik" in source else 0) + 1
    assert f"{planted}:{line}: imports traffik-core's private {target}" in out


PUBLIC = {
    "public-modules": "from traffik.strategies import Decision\nfrom traffik.backends.base import ThrottleBackend\n",
    "own-private-module": "from traffik.backends.fake._other import thing\nfrom . import _other\n",
    "dunder": "from traffik.__about__ import __version__\n",
    "third-party": "import redis._parsers\n",
}


@pytest.mark.parametrize("source", list(PUBLIC.values()), ids=list(PUBLIC))
def test_public_and_own_imports_pass(repo: Path, source: str) -> None:
    _plugin(repo, source)
    assert check.main(["--root", str(repo)]) == 0


def test_core_may_import_its_own_private_modules(repo: Path) -> None:
    _write(repo / "packages" / "traffik-core" / "src", {"traffik/rates.py": "from traffik._lazy import x\n"})
    assert check.check_repository(repo) == []


def test_the_repository_passes() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
