"""Failover on real servers: to the fallback after the threshold, back to the primary after recovery."""

from __future__ import annotations

import asyncio
import time

import pytest
from traffik.backends.inmemory import InMemoryBackend
from traffik.error_handlers import CircuitBreaker, failover, failure_counts, retry
from traffik.testing import ServerFactory

from tests.resilience.servers import (
    CALL_TIMEOUT,
    KINDS,
    LIMIT,
    SLACK,
    Kind,
    client_for,
    leaked_tasks,
    make_backend,
    start_server,
)

pytestmark = pytest.mark.parametrize("kind", KINDS)

RECOVERY_S = 0.5


def state_of(breaker: CircuitBreaker) -> str:
    # A call, so the type checker does not narrow the state across awaits.
    return breaker.state


@pytest.mark.parametrize("fault", ["kill", "pause"])
async def test_failover_to_memory_and_back(kind: Kind, fault: str, server_factory: ServerFactory) -> None:
    before = set(asyncio.all_tasks())
    server = start_server(kind, server_factory)
    primary = make_backend(kind, server.address)
    fallback = InMemoryBackend("fallback", cleanup_frequency=None)
    breaker = CircuitBreaker(failure_threshold=3, recovery_timeout=RECOVERY_S)
    async with client_for(primary, failover(backend=fallback, breaker=breaker)) as (_app, get):
        assert (await get("203.0.113.1")).status == 200
        assert len(fallback) == 0

        if fault == "kill":
            server.kill()
        else:
            server.pause()
        try:
            # Below the threshold each request tries the primary, fails, and is answered by the fallback.
            first = [await get("203.0.113.2") for _ in range(3)]
            assert [o.status for o in first] == [200, 200, 200]
            assert max(o.seconds for o in first) < CALL_TIMEOUT + SLACK
            assert state_of(breaker) == "open"
            # Open: the primary is skipped, so even a paused server costs no waiting; the limit still holds.
            rest = [await get("203.0.113.2") for _ in range(LIMIT - 2)]
            assert [o.status for o in rest] == [200] * (LIMIT - 3) + [429]
            assert max(o.seconds for o in rest) < 0.1
            assert len(fallback) == 1
        finally:
            if fault == "kill":
                server.restart()
            else:
                server.resume()

        # After recovery_timeout one probe goes to the primary; its success closes the breaker.
        deadline = time.perf_counter() + RECOVERY_S + 1.0
        while state_of(breaker) != "closed":
            assert time.perf_counter() < deadline, f"breaker still {breaker.state}"
            await get("203.0.113.9")
            await asyncio.sleep(0.05)
        # Traffic is counted on the primary again: a new client gets exactly the limit there.
        statuses = [(await get("203.0.113.3")).status for _ in range(LIMIT + 1)]
        assert statuses == [200] * LIMIT + [429]
    assert breaker.times_opened == 1
    assert sum(failure_counts().values()) >= 3
    assert not leaked_tasks(before)


async def test_retry_rides_out_a_short_pause(kind: Kind, server_factory: ServerFactory) -> None:
    server = start_server(kind, server_factory)
    backend = make_backend(kind, server.address)
    policy = retry(max_retries=6, retry_delay=0.05, backoff="exponential", max_delay=0.2, on_error="raise")
    async with client_for(backend, policy) as (app, get):
        assert (await get("203.0.113.1")).status == 200
        server.pause()
        loop = asyncio.get_running_loop()
        loop.call_later(0.4, server.resume)
        outcome = await get("203.0.113.1")
        assert outcome.status == 200  # answered by a retry once the server was back
        assert policy.recovered == 1
        assert not app.surfaced
