"""Make the repository's ``benchmarks`` package importable (it is run as ``python -m benchmarks`` from the root)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# `python -m pytest` puts the working directory on sys.path, `.venv/bin/pytest` does not.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
