"""Fixtures of the bad-input suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from traffik.error_handlers import reset_failure_counts

from tests.badinput.backends import backend, shared_backend

__all__ = ["backend", "clean_monitor", "shared_backend"]


@pytest.fixture(autouse=True)
def clean_monitor() -> Iterator[None]:
    reset_failure_counts()
    yield
    reset_failure_counts()
