"""Entry module of traffik-prometheus (``[project.entry-points.traffik] prometheus``).

Discovery imports it, so it imports nothing but traffik: prometheus_client is
imported only when ``TRAFFIK_PROMETHEUS`` asks for the observer, when core
collects the plugins' observers (once, after discovery).
"""

from __future__ import annotations

import os

from traffik.events import Observer
from traffik.plugins import hookimpl

__all__ = ["traffik_observers"]


@hookimpl
def traffik_observers() -> list[Observer]:
    """The Prometheus observer on the default registry when ``TRAFFIK_PROMETHEUS`` is true; else none."""
    if not os.environ.get("TRAFFIK_PROMETHEUS", "").strip():
        return []  # the common case, without importing prometheus_client
    from traffik.prometheus._install import enabled_by_environment, shared_observer

    return [shared_observer()] if enabled_by_environment() else []
