"""Exactness under contention: 4 processes x 50 tasks on one key of a 100/min limit admit exactly 100."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from traffik.strategies import GCRA, TokenBucketWithDebt
from traffik.strategies._base import ThrottleStrategy
from traffik.testing import RedisServer

from tests.redis import _hammer
from tests.redis.conftest import unique_namespace
from tests.redis.strategies import DEFAULTS

pytestmark = [pytest.mark.redis, pytest.mark.slow]

PROCESSES = 4
TASKS = 50
HITS_PER_TASK = 3  # 600 attempts in all, for 100 places

# Each strategy shaped to admit a burst of exactly 100 (time is frozen, so nothing refills).
EXACT: dict[str, ThrottleStrategy] = {
    **DEFAULTS,
    "token-bucket-with-debt": TokenBucketWithDebt(burst_size=97, max_debt=3),
    "gcra": GCRA(burst_tolerance_ms=60_000 - 600),
}


@pytest.mark.parametrize("name", sorted(EXACT))
def test_contention_admits_exactly_the_limit(
    name: str, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spawned processes import the worker as tests.redis._hammer: they need the repository root on sys.path.
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2]))
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    namespace = unique_namespace("exact")
    args = (redis_server.url, namespace, EXACT[name], 1_700_000_000_000.0, TASKS, HITS_PER_TASK)
    processes = [context.Process(target=_hammer.run, args=(barrier, results, *args)) for _ in range(PROCESSES)]
    for process in processes:
        process.start()
    try:
        admitted = [results.get(timeout=30) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
    assert all(process.exitcode == 0 for process in processes)
    assert sum(admitted) == 100
