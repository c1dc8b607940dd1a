"""The generated suite comes from the reference: editing the reference changes exactly the matching test."""

from __future__ import annotations

from pathlib import Path

import pytest
from traffik.testing.spec import SpecEnvironment, generate_cases, parse_reference

REFERENCE = Path(__file__).parent / "api-reference.md"


async def _failing(path: Path) -> set[str]:
    """Ids of the generated cases that fail against the current code."""
    reference = parse_reference(path)
    failed = set()
    for case in generate_cases(reference):
        try:
            await case.check(SpecEnvironment(reference))
        except Exception:
            failed.add(case.id)
    return failed


@pytest.mark.parametrize(
    ("original", "edited", "entry_id"),
    [
        (
            "| `number_of_shards` | `int` | `3` |",
            "| `number_of_shards` | `int` | `4` |",
            "InMemoryBackend.param[number_of_shards]",
        ),
        (
            "| `cost` | `int \\| async callable` | `1` |",
            "| `cost` | `int \\| async callable` | `2` |",
            "HTTPThrottle.param[cost]",
        ),
        (
            "| `await check(request, cost=None, context=None)` |",
            "| `check(request, cost=None, context=None)` |",
            "HTTPThrottle.method[check]",
        ),
        (
            "| `TRAFFIK_DEFAULT_BLOCKING` | `True` |",
            "| `TRAFFIK_DEFAULT_BLOCKING` | `False` |",
            "Configuration.config[TRAFFIK_DEFAULT_BLOCKING]",
        ),
    ],
    ids=["default", "union-typed-default", "await", "config-default"],
)
async def test_editing_the_reference_fails_exactly_that_entry(
    tmp_path: Path, original: str, edited: str, entry_id: str
) -> None:
    """Copy the reference, change one promise, regenerate: only that entry's test changes from pass to fail."""
    text = REFERENCE.read_text(encoding="utf-8")
    assert text.count(original) == 1, f"the reference no longer contains {original!r}"
    copy = tmp_path / "api-reference.md"
    copy.write_text(text.replace(original, edited), encoding="utf-8")
    before, after = await _failing(REFERENCE), await _failing(copy)
    assert after - before == {entry_id}
    assert before - after == set()


def test_renamed_parameter_in_the_reference_is_a_new_failing_entry(tmp_path: Path) -> None:
    """A parameter the code lacks (as if renamed in the code) gives a failing test named after it."""
    text = REFERENCE.read_text(encoding="utf-8")
    copy = tmp_path / "api-reference.md"
    copy.write_text(text.replace("| `cleanup_frequency` |", "| `cleanup_interval` |"), encoding="utf-8")
    ids = [case.id for case in generate_cases(parse_reference(copy))]
    assert "InMemoryBackend.param[cleanup_interval]" in ids
    assert "InMemoryBackend.param[cleanup_frequency]" not in ids


def test_every_entry_of_the_reference_generates_tests() -> None:
    """No documented entry is silently left without a generated test."""
    reference = parse_reference(REFERENCE)
    covered = {case.entry for case in generate_cases(reference)}
    assert covered == {entry.name for entry in reference.entries}
    # The contract's own sections come first, in its order; this project's additions follow.
    assert reference.sections[: len(CONTRACT_SECTIONS)] == CONTRACT_SECTIONS
    assert len(reference.sections) > len(CONTRACT_SECTIONS)


CONTRACT_SECTIONS = [
    "Throttles",
    "Backends",
    "Rate",
    "Registry",
    "Rules",
    "Headers",
    "Types and Sentinels",
    "Utilities",
    "Configuration",
]


def test_unknown_table_is_an_error(tmp_path: Path) -> None:
    """A new kind of table in the reference must be taught to the generator, not skipped."""
    copy = tmp_path / "api-reference.md"
    copy.write_text("## X\n\n### `X`\n\n| Flag | Meaning |\n|---|---|\n| `a` | b |\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unrecognised table"):
        parse_reference(copy)
