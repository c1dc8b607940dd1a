"""HTTP overhead over real sockets: uvicorn serving the benchmark app, driven by the load client.

Uvicorn runs in its own process (one worker here; :func:`serve` also starts
several, for the scaling scenario) on a free loopback port; the load
client runs here, alternating runs of ``/plain`` and ``/throttled``. On a
2-core machine client and server share the CPU, so absolute figures are lower
than on a real deployment, but both endpoints pay that equally.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traffik.testing import free_port

from benchmarks._app import URL_VARIABLE
from benchmarks._loadgen import load
from benchmarks._targets import Target
from benchmarks._timing import measure_interleaved, ratio, spread

__all__ = ["CONNECTIONS", "Served", "serve", "uvicorn_overhead"]

CONNECTIONS = 16
_HOST = "127.0.0.1"
_START_TIMEOUT_S = 30.0
_STOP_GRACE_S = 2.0
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


def _descendants(pid: int) -> list[int]:
    """The processes under ``pid`` (uvicorn's workers and their helpers), read from ``/proc`` (Linux)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
            found += [int(child) for child in children]
            pending += [int(child) for child in children]
    return found


def _stat(pid: int) -> list[str] | None:
    """``/proc/<pid>/stat`` from field 3 (the state) on, or ``None`` once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` has used so far (0 once it is gone)."""
    fields = _stat(pid)
    # utime and stime are fields 14 and 15.
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _started(pid: int) -> str | None:
    """When ``pid`` started (field 22, clock ticks since boot): with the PID, it names one process."""
    fields = _stat(pid)
    return None if fields is None else fields[19]


@dataclass
class Served:
    """A running uvicorn: its port and the process tree it started (the supervisor, then its workers)."""

    port: int
    pid: int
    workers: int

    def processes(self) -> list[int]:
        """The supervisor's PID and those of every process under it."""
        return [self.pid, *_descendants(self.pid)]

    def cpu_seconds(self) -> float:
        """CPU seconds the whole tree has used so far."""
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds each process of the tree has used so far, by PID."""
        return {pid: _cpu_seconds(pid) for pid in self.processes()}


def _stop(process: subprocess.Popen[bytes], tree: list[tuple[int, str | None]]) -> None:
    """Stop uvicorn by its PID (it stops its workers), then any process of ``tree`` still there, by PID.

    ``tree`` holds each process's start time too, so a PID the system has
    reused for another process meanwhile is left alone.
    """
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    # The workers' helpers (multiprocessing's resource tracker) leave on their own once the
    # supervisor is gone: a moment's grace, then SIGKILL for any still there, and wait for them.
    _wait_until_stopped(tree, _STOP_GRACE_S)
    for pid, started in tree:
        if _running(pid, started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    _wait_until_stopped(tree, _START_TIMEOUT_S)


def _running(pid: int, started: str | None) -> bool:
    """Whether the process ``pid`` that started at ``started`` still runs (an exited one is a zombie, or gone)."""
    fields = _stat(pid)
    return started is not None and fields is not None and fields[19] == started and fields[0] != "Z"


def _wait_until_stopped(tree: list[tuple[int, str | None]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(_running(pid, started) for pid, started in tree) and time.monotonic() < deadline:
        time.sleep(0.02)


@contextlib.contextmanager
def serve(url: str, workers: int = 1) -> Iterator[Served]:
    """Run uvicorn (``workers`` worker processes) with the benchmark app on ``url``'s backend; stop it on exit.

    With more than one worker uvicorn's supervisor spawns them; each builds
    its own app (and backend client) from the factory. Every process started
    is stopped by PID on exit, and the port is free again.
    """
    port = free_port(_HOST)
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks._app:app_from_env"]
    command += ["--host", _HOST, "--port", str(port), "--log-level", "warning", "--no-access-log"]
    if workers > 1:
        command += ["--workers", str(workers)]
    environment = {**os.environ, URL_VARIABLE: url}
    # Its output goes to a file, not ours: `--json` must print nothing but JSON.
    with tempfile.TemporaryDirectory(prefix="traffik-bench-") as workdir:
        log = Path(workdir) / "uvicorn.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command, cwd=_ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=sink, stderr=sink
            )
            served = Served(port, process.pid, workers)
            try:
                _wait_until_listening(port, process, log)
                _wait_for_workers(served, log)
                yield served
            finally:
                _stop(process, [(pid, _started(pid)) for pid in _descendants(process.pid)])


def _wait_for_workers(served: Served, log: Path) -> None:
    """Wait until the supervisor has all its workers."""
    if served.workers == 1:
        return
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if len(_descendants(served.pid)) >= served.workers:
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"uvicorn started fewer than {served.workers} workers within {_START_TIMEOUT_S} s:\n{tail}")


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
    with serve(target.url) as served:
        port = served.port
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
