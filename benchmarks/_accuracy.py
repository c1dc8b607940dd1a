"""Accuracy under contention: processes x tasks hitting one key; the admitted count must match the limit.

The expected count is what the same attempts get when made one by one on a
frozen clock (the pure strategy, no concurrency): the limit for window and
bucket strategies, plus the debt for ``TokenBucketWithDebt``. Each worker
process (:mod:`benchmarks._contend`) is released by one line on its stdin, so
all of them hit the key at once.

On the in-memory backend every process has its own store, so only one process
(with all the tasks) makes sense there; shared stores run several.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.plugins import backend_from_url
from traffik.strategies._base import ThrottleStrategy

from benchmarks._strategies import CONTENDED_RATE, contended
from benchmarks._targets import Target

__all__ = ["contention"]

_ROOT = Path(__file__).resolve().parent.parent
_TIMEOUT_S = 60.0


async def expected_admissions(strategy: ThrottleStrategy, attempts: int) -> int:
    """Admissions of ``attempts`` sequential hits at one instant: the reference a concurrent run must match."""
    backend = InMemoryBackend(namespace="bench-reference", clock=ManualClock(1_700_000_000_000.0))
    return sum([(await backend.hit("key", strategy, CONTENDED_RATE, 1)).allowed for _ in range(attempts)])


async def _readline(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), _TIMEOUT_S)
    if not line:
        raise RuntimeError(f"contention worker {process.pid} exited with status {await process.wait()}")
    return line.decode().strip()


async def contention(
    target: Target, strategies: dict[str, ThrottleStrategy], processes: int, tasks: int, attempts: int
) -> dict[str, Any]:
    """Admitted vs expected hits when ``processes`` x ``tasks`` make ``attempts`` hits in all on one key.

    A hit that raises :class:`~traffik.exceptions.BackendError` (for example a
    compare-and-swap that keeps losing races) counts under ``errors``, neither
    admitted nor denied: a throttle would apply its ``on_error`` policy to it.

    Args:
        target: The backend (``memory`` runs a single process whatever ``processes`` says).
        strategies: Strategies to run, each on its own key.
        processes: Worker processes.
        tasks: Concurrent tasks per process.
        attempts: Hits tried in all (a multiple of the limit makes the contention real).
    """
    processes = processes if target.shared else 1
    namespace = f"bench-acc-{uuid.uuid4().hex[:8]}"
    per_process, extra = divmod(attempts, processes)
    shares = [per_process + (index < extra) for index in range(processes)]
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks._contend",
            target.url,
            namespace,
            str(tasks),
            str(share),
            cwd=_ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for share in shares
    ]
    rows = []
    try:
        for worker in workers:
            if await _readline(worker) != "ready":
                raise RuntimeError(f"contention worker {worker.pid} did not start")
        for name in strategies:
            key = f"contended-{name}"
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(f"{name} {key}\n".encode())
            await asyncio.gather(*(worker.stdin.drain() for worker in workers if worker.stdin is not None))
            counts = [(await _readline(worker)).split() for worker in workers]
            admitted = sum(int(count[0]) for count in counts)
            errors = sum(int(count[1]) for count in counts)
            expected = await expected_admissions(contended(name), attempts)
            rows.append(
                {
                    "strategy": name,
                    "admitted": admitted,
                    "expected": expected,
                    "exact": admitted == expected,
                    "errors": errors,
                }
            )
    finally:
        for worker in workers:
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in workers:
            try:
                await asyncio.wait_for(worker.wait(), 10)
            except asyncio.TimeoutError:
                worker.kill()
                await worker.wait()
        cleaner = backend_from_url(target.url, namespace=namespace, persistent=True)
        async with cleaner:
            await cleaner.clear()
    return {
        "processes": processes,
        "tasks_per_process": tasks,
        "attempts": attempts,
        "limit": CONTENDED_RATE.limit,
        "rows": rows,
    }
