"""Plugin discovery cost, measured in fresh interpreters (discovery runs once per process)."""

from __future__ import annotations

import statistics
import subprocess
import sys

__all__ = ["discovery_ms"]

# importlib.metadata is imported first, as any application has done already: the
# figure is discovery's own cost (budget: about 10 ms on an idle machine; an entry
# module importing its client library or FastAPI costs ~200 ms more).
_PROGRAM = """
import importlib.metadata
import time
import traffik.plugins as plugins
start = time.perf_counter()
plugins.get_plugin_registry().backends()
print((time.perf_counter() - start) * 1000)
"""


def discovery_ms(repeats: int) -> tuple[float, float, float]:
    """Median, min and max milliseconds of first-use plugin discovery."""
    runs = [
        float(subprocess.run([sys.executable, "-c", _PROGRAM], check=True, capture_output=True, text=True).stdout)
        for _ in range(repeats)
    ]
    return statistics.median(runs), min(runs), max(runs)
