"""Generated from ``spec/api-reference.md``: one test per documented import, parameter, method,
attribute, header builder, configuration entry and example (ids name the reference entry)."""

from __future__ import annotations

from pathlib import Path

from traffik.testing.spec import SpecCase, SpecEnvironment, parse_reference

TRAFFIK_REFERENCE = Path(__file__).parent / "api-reference.md"
"""Read by :mod:`traffik.testing.pytest_plugin` to parametrize ``traffik_spec_case``."""


async def test_reference(traffik_spec_case: SpecCase) -> None:
    """The code keeps the promise the reference entry in the test id makes."""
    await traffik_spec_case.check(SpecEnvironment(parse_reference(TRAFFIK_REFERENCE)))
