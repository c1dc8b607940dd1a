"""Fixtures of the security suite (the backends of the bad-input suite)."""

from __future__ import annotations

from tests.badinput.backends import backend, shared_backend

__all__ = ["backend", "shared_backend"]
