"""A CI-sized soak (``benchmarks/soak.py``): load per backend, with and without faults.

No assertion depends on how fast this machine is: the keys are few enough that
limits are reached at any throughput, a run without faults has timeouts no
loaded machine reaches (its point is exactness), and the latency ceiling of a
run with faults is the configured bound plus the event-loop lag measured
during that same run.
"""

from __future__ import annotations

import pytest

from benchmarks.soak import CALL_TIMEOUT, SoakResult, soak_backend

pytestmark = [pytest.mark.slow]

KINDS = [
    pytest.param("redis", marks=pytest.mark.redis, id="redis"),
    pytest.param("memcached", marks=pytest.mark.memcached, id="memcached"),
]
KEYS = 20
LIMIT = 5
SCHEDULING_SLACK_MS = 100.0
"""What a hit may take beyond its bound and the loop's lag: its own steps before and after the timer."""


def latency_ceiling_ms(result: SoakResult) -> float:
    # A hit's timer fires at most one loop lag late, and the cancelled hit then runs at
    # most one loop lag later again: past that, a hit outlived its bound.
    return CALL_TIMEOUT * 1000 + 2 * result.max_loop_lag_ms + SCHEDULING_SLACK_MS


@pytest.mark.parametrize("kind", KINDS)
async def test_without_faults_the_store_admits_exactly_what_the_rate_allows(kind: str) -> None:
    # Ends after max_hits (seconds is only a cap): 2,000 hits on 20 keys reach every limit.
    result = await soak_backend(
        kind,
        seconds=60.0,
        max_hits=2_000,
        keys=KEYS,
        limit=LIMIT,
        fault_every=1.0,
        inject_faults=False,
        call_timeout=None,
        store_timeout=5.0,  # exactness is the point here, not timing
    )
    assert result.unexpected == []
    assert result.errors == {}
    assert result.hits == 2_000
    assert result.excess_admitted == 0  # the limit was never exceeded on any key...
    assert result.admitted == result.expected_max_admitted  # ...and reached exactly on each
    assert result.throttled == result.hits - result.admitted > 0


@pytest.mark.parametrize("kind", KINDS)
async def test_with_a_fault_every_few_seconds_nothing_escapes_and_nothing_hangs(kind: str) -> None:
    result = await soak_backend(kind, seconds=8.0, max_hits=200_000, keys=KEYS, limit=LIMIT, fault_every=2.5)
    assert result.unexpected == []  # every failure went through the error policy
    assert len(result.faults) >= 2
    assert set(result.errors) <= {"BackendConnectionError", "BackendTimeoutError"}
    assert sum(result.errors.values()) > 0
    assert result.max_ms < latency_ceiling_ms(result), result
    # Only a restart's empty store gives extra hits (so, with the count below, every hit
    # past a key's allowance was throttled).
    assert result.admitted <= result.bound_with_resets
    assert result.hits == result.admitted + result.throttled + sum(result.errors.values())
