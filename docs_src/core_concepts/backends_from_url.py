"""Build a backend from a URL: the installed plugin that owns the scheme builds it."""

from __future__ import annotations

import os

from traffik.backends import backend_from_url
from traffik.backends.inmemory import InMemoryBackend


def main() -> None:
    backend = backend_from_url(os.environ.get("TRAFFIK_BACKEND_URL", "memory://"))
    assert isinstance(backend, InMemoryBackend)
