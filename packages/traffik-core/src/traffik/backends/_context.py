"""The active-backend context: which backend a throttle that names none uses.

``async with backend:`` makes ``backend`` active for the current context (a
context variable); a lifespan installs it process-wide, because a lifespan
runs in its own task and a context variable set there is invisible to request
tasks. :func:`get_active_backend` is re-exported by
:mod:`traffik.backends.base` and :mod:`traffik.backends`.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from traffik.backends.base import ThrottleBackend

__all__ = ["active_backend", "get_active_backend", "install_backend", "uninstall_backend"]

active_backend: contextvars.ContextVar[ThrottleBackend | None] = contextvars.ContextVar(
    "traffik_active_backend", default=None
)
"""The backend of the innermost ``async with backend:`` (or a middleware's ``backend=``) in this context."""

# The backend installed by the most recent lifespan is the process-wide fallback.
_installed_backends: list[ThrottleBackend] = []


def get_active_backend() -> ThrottleBackend | None:
    """The backend of the active context: ``async with backend:`` first, else the lifespan-installed one."""
    backend = active_backend.get()
    if backend is not None:
        return backend
    return _installed_backends[-1] if _installed_backends else None


def install_backend(backend: ThrottleBackend) -> None:
    """Make ``backend`` the process-wide fallback (a lifespan's start-up)."""
    _installed_backends.append(backend)


def uninstall_backend(backend: ThrottleBackend) -> None:
    """Undo :func:`install_backend` (a lifespan's shutdown); the previous one is the fallback again."""
    with contextlib.suppress(ValueError):
        _installed_backends.remove(backend)
