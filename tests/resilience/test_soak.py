"""A CI-sized soak (``benchmarks/soak.py``): seconds of load per backend, with and without faults."""

from __future__ import annotations

import pytest

from benchmarks.soak import CALL_TIMEOUT, soak_backend

pytestmark = [pytest.mark.slow]

KINDS = [
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
]
# Generous: two pytest workers and the servers share two cores in CI.
LATENCY_CEILING_MS = (CALL_TIMEOUT + 0.5) * 1000


@pytest.mark.parametrize("kind", KINDS)
async def test_without_faults_the_store_admits_exactly_what_the_rate_allows(kind: str) -> None:
    result = await soak_backend(
        kind, seconds=3.0, max_hits=20_000, keys=2_000, limit=5, fault_every=1.0, inject_faults=False
    )
    assert result.unexpected == []
    assert result.errors == {}
    assert result.hits > 1_000
    assert result.throttled > 0  # the limit was reached on many keys...
    assert result.excess_admitted == 0  # ...and never exceeded on any
    assert result.admitted == result.expected_max_admitted


@pytest.mark.parametrize("kind", KINDS)
async def test_with_a_fault_every_few_seconds_nothing_escapes_and_nothing_hangs(kind: str) -> None:
    result = await soak_backend(kind, seconds=8.0, max_hits=200_000, keys=10_000, limit=5, fault_every=2.5)
    assert result.unexpected == []  # every failure went through the error policy
    assert len(result.faults) >= 2
    assert set(result.errors) <= {"BackendConnectionError", "BackendTimeoutError"}
    assert sum(result.errors.values()) > 0
    assert result.max_ms < LATENCY_CEILING_MS
    assert result.throttled > 0  # limits are enforced between faults...
    assert result.admitted <= result.bound_with_resets  # ...and only a restart's empty store gives extra hits
    assert result.hits == result.admitted + result.throttled + sum(result.errors.values())
