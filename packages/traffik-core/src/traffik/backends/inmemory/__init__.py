"""The in-process backend: ``from traffik.backends.inmemory import InMemoryBackend``."""

from __future__ import annotations

from traffik.backends.inmemory._backend import InMemoryBackend

__all__ = ["InMemoryBackend"]
