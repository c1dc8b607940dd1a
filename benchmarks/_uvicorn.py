"""HTTP overhead over real sockets: uvicorn serving the benchmark app, driven by the load client.

Uvicorn runs in its own process (one worker) on a free loopback port; the load
client runs here, alternating runs of ``/plain`` and ``/throttled``. On a
2-core machine client and server share the CPU, so absolute figures are lower
than on a real deployment, but both endpoints pay that equally.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from traffik.testing import free_port

from benchmarks._app import URL_VARIABLE
from benchmarks._loadgen import load
from benchmarks._targets import Target
from benchmarks._timing import measure_interleaved, ratio, spread

__all__ = ["CONNECTIONS", "uvicorn_overhead"]

CONNECTIONS = 16
_HOST = "127.0.0.1"
_START_TIMEOUT_S = 30.0
_RUN_TIMEOUT_S = 60.0
_ROOT = Path(__file__).resolve().parent.parent


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"uvicorn exited with status {process.returncode} before listening:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection((_HOST, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"uvicorn did not listen on {_HOST}:{port} within {_START_TIMEOUT_S} s")


@contextlib.contextmanager
def _serve(url: str) -> Iterator[int]:
    """Run uvicorn with the benchmark app on ``url``'s backend; yield its port; stop it on exit."""
    port = free_port(_HOST)
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks._app:app_from_env"]
    command += ["--host", _HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    environment = {**os.environ, URL_VARIABLE: url}
    # Its output goes to a file, not ours: `--json` must print nothing but JSON.
    with tempfile.TemporaryDirectory(prefix="traffik-bench-") as workdir:
        log = Path(workdir) / "uvicorn.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=_ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
            try:
                _wait_until_listening(port, process, log)
                yield port
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def _runner(port: int, path: str) -> Callable[[int], Awaitable[float]]:
    async def run(n: int) -> float:
        return await load(_HOST, port, path, n, CONNECTIONS, _RUN_TIMEOUT_S)

    return run


async def uvicorn_overhead(target: Target, requests: int, repeats: int) -> dict[str, Any]:
    """Requests per second of ``/plain`` (the floor) and ``/throttled`` under uvicorn, and their ratio.

    Args:
        target: The backend the throttle stores its counters in.
        requests: Requests per timed run (spread over :data:`CONNECTIONS` connections).
        repeats: Timed runs per endpoint.
    """
    with _serve(target.url) as port:
        plain, throttled = await measure_interleaved(
            [("plain", _runner(port, "/plain")), ("throttled", _runner(port, "/throttled"))], requests, repeats
        )
    return {
        "connections": CONNECTIONS,
        "floor_requests_per_s": spread([1e6 / us for us in plain.runs_us], 0),
        "throttled_requests_per_s": spread([1e6 / us for us in throttled.runs_us], 0),
        "floor_us": spread(plain.runs_us, 1),
        "throttled_us": spread(throttled.runs_us, 1),
        "ratio_to_floor": ratio(throttled.median, plain.median),
    }
