"""Entry module of traffik-opentelemetry (``[project.entry-points.traffik] opentelemetry``).

Discovery imports it, so it imports nothing but traffik: opentelemetry is
imported only when ``TRAFFIK_OPENTELEMETRY`` asks for the observer, when core
collects the plugins' observers (once, after discovery).
"""

from __future__ import annotations

import os

from traffik.events import Observer
from traffik.plugins import hookimpl

__all__ = ["traffik_observers"]


@hookimpl
def traffik_observers() -> list[Observer]:
    """The OpenTelemetry observer on the global providers when ``TRAFFIK_OPENTELEMETRY`` is true; else none."""
    if not os.environ.get("TRAFFIK_OPENTELEMETRY", "").strip():
        return []  # the common case, without importing opentelemetry
    from traffik.opentelemetry._install import enabled_by_environment, shared_observer

    return [shared_observer()] if enabled_by_environment() else []
