"""Every throttle uid in the documentation examples is used by one example only.

The docs tests run every example in one process, and a throttle registers its uid in
the process-wide registry: two examples naming the same uid pass alone and fail
together, depending on the order they run in.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "docs_src").rglob("*.py"))


def _throttle_uids(path: Path) -> set[str]:
    uids: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if not name.endswith("Throttle"):
            continue
        arguments = [*node.args[:1], *(keyword.value for keyword in node.keywords if keyword.arg == "uid")]
        uids.update(arg.value for arg in arguments if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
    return uids


def test_the_examples_name_throttles() -> None:
    assert sum(len(_throttle_uids(path)) for path in EXAMPLES) > 50


def test_no_two_examples_share_a_throttle_uid() -> None:
    owners: defaultdict[str, list[str]] = defaultdict(list)
    for path in EXAMPLES:
        for uid in _throttle_uids(path):
            owners[uid].append(str(path.relative_to(ROOT)))
    assert {uid: files for uid, files in owners.items() if len(files) > 1} == {}
