"""Exactness under contention: 4 processes x 50 tasks on one key of a 100/min limit admit exactly 100."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from traffik.rates import Rate
from traffik.strategies import ThrottleStrategy, TokenBucket
from traffik.testing import MemcachedServer

pytestmark = [pytest.mark.memcached, pytest.mark.slow]

WORKER = Path(__file__).with_name("_exactness_worker.py")
PROCESSES, TASKS = 4, 50
NOW = 1_700_000_010_000.0  # mid-minute: the fixed window cannot roll over


def run_workers(spec: dict[str, Any], processes: int) -> Counter[str]:
    """Start ``processes`` workers on ``spec``, release them together, and add up their outcomes."""
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    totals: Counter[str] = Counter()
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, _ = worker.communicate(timeout=60)
            assert worker.returncode == 0
            totals.update(json.loads(out))
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    return totals


def test_four_processes_of_fifty_tasks_admit_exactly_the_serial_count(
    memcached_servers: tuple[MemcachedServer, MemcachedServer], strategy: ThrottleStrategy
) -> None:
    rate = Rate.parse("100/min")
    serial_state, serial_admitted = None, 0
    for _ in range(PROCESSES * TASKS):
        serial_state, decision = strategy.step(serial_state, NOW, 1, rate)
        serial_admitted += decision.allowed
    spec = {
        "servers": [server.address for server in memcached_servers],
        "namespace": f"exact-{uuid.uuid4().hex[:8]}",
        "strategy": strategy.NAME,
        "params": strategy.params(),
        "rate": str(rate),
        "key": "one-hot-key",
        "now": NOW,
        "tasks": TASKS,
    }
    totals = run_workers(spec, PROCESSES)
    assert sum(totals.values()) == PROCESSES * TASKS
    assert totals["admitted"] == serial_admitted
    assert serial_admitted >= 100
    assert totals["denied"] == PROCESSES * TASKS - serial_admitted, totals


@pytest.mark.parametrize("strategy", [TokenBucket()], ids=["token-bucket"])
def test_two_processes_of_two_hundred_hits_admit_exactly_the_limit_and_fail_none(
    memcached_servers: tuple[MemcachedServer, MemcachedServer], strategy: ThrottleStrategy
) -> None:
    # A client's own concurrency from two app processes: races between the processes
    # are retried; none may end in a backend error (which on_error="allow" would admit).
    spec = {
        "servers": [server.address for server in memcached_servers],
        "namespace": f"exact-{uuid.uuid4().hex[:8]}",
        "strategy": strategy.NAME,
        "params": strategy.params(),
        "rate": "50/hour",
        "key": "one-busy-client",
        "now": NOW,
        "tasks": 200,
    }
    totals = run_workers(spec, 2)
    assert totals == {"admitted": 50, "denied": 350}
