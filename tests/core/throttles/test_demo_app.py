"""``examples/demo_app.py``: the walkthrough prints what a user sees, and the script runs from a shell."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

DEMO_APP = Path(__file__).resolve().parents[3] / "examples" / "demo_app.py"


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_app", DEMO_APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_walkthrough_shows_limits_headers_and_429s() -> None:
    lines: list[str] = []
    await load_demo().walkthrough(lines.append)
    search = [line for line in lines if line.startswith("GET  /api/search")]
    assert [line.split("-> ")[1][:3] for line in search[:5]] == ["200", "200", "200", "429", "200"]
    assert "x-ratelimit-remaining: 2" in search[0]
    assert "Too many requests. Retry in 1 second." in search[3]
    uploads = [line for line in lines if line.startswith("POST /api/upload")]
    assert [line.split("-> ")[1][:3] for line in uploads] == ["201", "201", "429", "201", "429"]
    assert 'ratelimit-policy: "default";q=4;w=2' in uploads[0]
    assert all("-> 200" in line for line in lines if line.startswith("GET  /health"))
    assert "-> 429" in lines[-1]  # the app-wide 20/min limit


def test_script_runs() -> None:
    result = subprocess.run([sys.executable, str(DEMO_APP)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "-> 429" in result.stdout
