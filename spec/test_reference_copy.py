"""``spec/api-reference.md`` keeps the shared reference word for word (sections may only be added)."""

from __future__ import annotations

from pathlib import Path

import pytest

SPEC = Path(__file__).resolve().parent / "api-reference.md"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "spec" / "api-reference.md"


@pytest.mark.skipif(not SHARED.exists(), reason="the shared reference sits beside the checkout only in the workplace")
def test_reference_matches_the_shared_copy() -> None:
    ours, theirs = SPEC.read_text(encoding="utf-8"), SHARED.read_text(encoding="utf-8")
    assert ours.startswith(theirs.rstrip("\n")), "spec/api-reference.md must keep ../shared/spec/api-reference.md as is"
