"""Building the backends the contract tests run against.

A *builder* makes one backend from ``(namespace, persistent, clock)``; a
:class:`BackendFactory` wraps a builder for one test, gives every backend a
fresh namespace and the test's clock, and clears and closes them all at the
end of the test.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable

from traffik.backends.base import ThrottleBackend
from traffik.clock import Clock

__all__ = ["BackendBuilder", "BackendFactory", "default_builder"]

BackendBuilder = Callable[[str, bool, Clock], ThrottleBackend]
"""``builder(namespace, persistent, clock) -> backend``."""

_namespaces = itertools.count()


def default_builder(backend_class: type[ThrottleBackend]) -> BackendBuilder:
    """The builder for a backend class whose other parameters all have defaults.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.clock import ManualClock
        >>> default_builder(InMemoryBackend)("ns", False, ManualClock()).namespace
        'ns'
    """

    def build(namespace: str, persistent: bool, clock: Clock) -> ThrottleBackend:
        # The base class's keywords: every backend accepts them.
        return backend_class(namespace=namespace, persistent=persistent, clock=clock)

    return build


class BackendFactory:
    """Makes backends of one kind for one test.

    Args:
        name: The backend's registered name (``"redis"``).
        builder: Makes one backend.
        clock: The test's clock, given to every backend.

    Example:
        >>> from traffik.backends.inmemory import InMemoryBackend
        >>> from traffik.clock import ManualClock
        >>> factory = BackendFactory("inmemory", default_builder(InMemoryBackend), ManualClock())
        >>> factory(namespace="a").namespace, factory().namespace != factory().namespace
        ('a', True)
    """

    def __init__(self, name: str, builder: BackendBuilder, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self._builder = builder
        self._made: list[ThrottleBackend] = []

    def __call__(self, *, namespace: str | None = None, persistent: bool = False) -> ThrottleBackend:
        """A new backend; without ``namespace``, one no other backend of this run uses."""
        if namespace is None:
            namespace = f"spec-{os.getpid()}-{next(_namespaces)}"
        backend = self._builder(namespace, persistent, self.clock)
        self._made.append(backend)
        return backend

    async def aclose(self) -> None:
        """Clear and close every backend made, so tests leave shared servers clean."""
        made, self._made = self._made, []
        for backend in made:
            try:
                await backend.clear()
            finally:
                await backend.close()
