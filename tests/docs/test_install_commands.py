"""Every ``pip install`` of ``traffik`` the docs and the README show pins ``>=2``.

The name ``traffik`` on the public index also has an older, unrelated 1.x line: an
unpinned ``pip install traffik`` (or ``"traffik[redis]"``) may resolve to it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]

FENCE = re.compile(r"^(```|~~~)")
PIP_INSTALL = re.compile(r"\bpip3?\s+install\b")
# The distribution `traffik` itself, with or without extras: not traffik-core, traffik-testing, ...
REQUIREMENT = re.compile(r"""(?<![\w./-])["']?traffik(?P<extras>\[[^\]]*\])?(?![\w-])(?P<spec>[^\s"'`]*)["']?""")
PINNED = re.compile(r">=\s*2(\.\d+)*(,|$)")


def _commands(text: str) -> list[str]:
    """The text of each ``pip install`` command: to the end of its line in a fence, else of its code span."""
    commands: list[str] = []
    in_fence = False
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if FENCE.match(line.lstrip()):
            in_fence = not in_fence
            continue
        for match in PIP_INSTALL.finditer(line):
            if in_fence:
                command = line[match.end() :]
                following = number + 1
                while command.rstrip().endswith("\\") and following < len(lines):
                    command = command.rstrip()[:-1] + " " + lines[following]
                    following += 1
                command = command.split(" #", 1)[0]
            else:
                # Inline code may wrap onto the next line of the paragraph: read up to its closing backtick.
                rest = "\n".join([line[match.end() :], *lines[number + 1 : number + 3]])
                command = rest.split("`", 1)[0]
            commands.append(command)
    return commands


def _unpinned(command: str) -> list[str]:
    return [
        match.group(0)
        for match in REQUIREMENT.finditer(command)
        if not PINNED.match(match.group("spec").replace(" ", ""))
    ]


@pytest.mark.parametrize(
    ("command", "unpinned"),
    [
        (' "traffik>=2"', []),
        (" 'traffik[redis,fastapi]>=2'", []),
        (' fastapi uvicorn "traffik[redis]>=2.1"', []),
        (" traffik", ["traffik"]),
        (' "traffik[memcached]"', ['"traffik[memcached]"']),
        (' "traffik[redis]>=1.2"', ['"traffik[redis]>=1.2"']),
        (" traffik-testing", []),
        (" -e packages/traffik-core -e packages/traffik-redis", []),
    ],
)
def test_the_check_tells_pinned_from_unpinned(command: str, unpinned: list[str]) -> None:
    assert _unpinned(command) == unpinned


def test_commands_are_found() -> None:
    quickstart = (ROOT / "docs" / "quickstart.md").read_text()
    assert any("traffik[fastapi,redis]>=2" in command for command in _commands(quickstart))
    assert _commands("see `pip install\n'traffik[redis]'` here") == ["\n'traffik[redis]'"]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_install_commands_pin_version_2(page: Path) -> None:
    offenders = [command.strip() for command in _commands(page.read_text(encoding="utf-8")) if _unpinned(command)]
    assert not offenders, f"pin traffik >=2 (the 1.x line on the index is another project): {offenders}"
