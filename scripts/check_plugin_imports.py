"""Fail if a plugin distribution imports a private module (or name) of traffik-core.

The distributions under ``packages/`` are released separately: a plugin built
against one traffik-core must keep working with the next, so it may import only
core's public plugin API (see docs/extending/backends.md). A private module is
one with a ``_``-prefixed component (``traffik.strategies._base``,
``traffik._lazy``); a dunder (``__about__``) is not private. A plugin importing
its own private modules (``traffik.backends.redis._scripts``) is fine: only
modules that traffik-core ships count.

Every ``import``/``from ... import`` statement is read with :mod:`ast`
(relative imports resolved, those under ``if TYPE_CHECKING:`` included), in
every ``packages/traffik-*/src`` except traffik-core's.

Usage: ``python scripts/check_plugin_imports.py [--root DIR]``; exit status 1
lists each violation as ``path:line: ...``.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CORE = "traffik-core"


@dataclass(frozen=True)
class Violation:
    """One import of a private core module or name."""

    path: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: imports traffik-core's private {self.target} (use the public plugin API)"


def _is_private(component: str) -> bool:
    return component.startswith("_") and not (component.startswith("__") and component.endswith("__"))


def module_name(src: Path, path: Path) -> str:
    """The dotted name of the module at ``path`` under the source root ``src``."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def core_modules(core_src: Path) -> frozenset[str]:
    """Every module and package name traffik-core ships."""
    names: set[str] = set()
    for path in core_src.rglob("*.py"):
        name = module_name(core_src, path)
        parts = name.split(".")
        # A package without __init__.py (a namespace directory) still names a core module path.
        names.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
    return frozenset(names)


def _private_core_part(dotted: str, core: frozenset[str]) -> str | None:
    """The private core module (or private name of a core module) ``dotted`` reaches, if any."""
    parts = dotted.split(".")
    for end in range(1, len(parts) + 1):
        prefix = ".".join(parts[:end])
        if prefix not in core:
            if end == len(parts) > 1 and _is_private(parts[-1]):
                return prefix  # a private name of a core module
            return None  # beyond core: a plugin's own package (or not traffik at all)
        if _is_private(parts[end - 1]):
            return prefix
    return None


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, node.module] if node.module else base)


def _imported(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of every module or name an import statement brings in."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(node, module, is_package)
            yield node.lineno, source
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{source}.{alias.name}"


def check_file(path: Path, src: Path, core: frozenset[str]) -> list[Violation]:
    """The private core imports of one plugin module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = module_name(src, path)
    found: dict[tuple[int, str], Violation] = {}
    for line, dotted in _imported(tree, module, path.name == "__init__.py"):
        private = _private_core_part(dotted, core)
        if private is not None:
            found.setdefault((line, private), Violation(path, line, private))
    return list(found.values())


def check_repository(root: Path) -> list[Violation]:
    """The private core imports of every plugin distribution under ``root/packages``."""
    packages = root / "packages"
    core = core_modules(packages / CORE / "src")
    violations: list[Violation] = []
    for distribution in sorted(packages.glob("traffik-*")):
        src = distribution / "src"
        if distribution.name == CORE or not src.is_dir():
            continue
        for path in sorted(src.rglob("*.py")):
            violations.extend(check_file(path, src, core))
    return violations


def main(argv: list[str] | None = None) -> int:
    """Check the repository; print each violation and return 1 if there is any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1], help="repository root")
    args = parser.parse_args(argv)
    violations = check_repository(args.root)
    for violation in violations:
        print(violation)
    if violations:
        print(f"{len(violations)} import(s) of private traffik-core modules", file=sys.stderr)
        return 1
    print("plugins import only traffik-core's public modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
