"""Real servers killed, paused and absent while a throttled app serves requests, for each policy.

For each backend and each of ``allow`` / ``throttle`` / ``raise``:

* no request waits longer than the call timeout (plus scheduling slack);
* the policy's outcome holds: ``allow`` -> 200, ``throttle`` -> 429, ``raise``
  -> the backend error reaches the app's handler (503 here);
* within about a second of the server's return the limit is enforced again;
* no exception the app did not handle reaches the server, and no task is left behind.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from traffik.error_handlers import failure_counts
from traffik.exceptions import BackendError
from traffik.testing import ServerFactory, free_port

from tests.resilience.servers import (
    CALL_TIMEOUT,
    KINDS,
    LIMIT,
    SLACK,
    Kind,
    Outcome,
    client_for,
    connections_after_close,
    leaked_tasks,
    make_backend,
    open_connections,
    start_server,
    wait_until_answering,
)

POLICIES = ["allow", "throttle", "raise"]
MAX_POOL = 16  # more open connections than a pool ever needs here means a leak
EXPECTED_STATUS = {"allow": 200, "throttle": 429, "raise": 503}

pytestmark = pytest.mark.parametrize("kind", KINDS)


def assert_policy_outcomes(outcomes: list[Outcome], policy: str) -> None:
    assert [o.status for o in outcomes] == [EXPECTED_STATUS[policy]] * len(outcomes)
    slowest = max(o.seconds for o in outcomes)
    assert slowest < CALL_TIMEOUT + SLACK, f"a request waited {slowest:.3f} s"


async def assert_limit_enforced(get: Any, client_ip: str) -> None:
    statuses = [(await get(client_ip)).status for _ in range(LIMIT + 2)]
    assert statuses == [200] * LIMIT + [429, 429]


@pytest.mark.parametrize("policy", POLICIES)
async def test_a_server_killed_under_load_then_restarted(
    kind: Kind, policy: str, server_factory: ServerFactory
) -> None:
    before = set(asyncio.all_tasks())
    server = start_server(kind, server_factory)
    backend = make_backend(kind, server.address)
    async with client_for(backend, policy) as (app, get):
        assert (await get("198.51.100.1")).status == 200  # connections are open and in use

        # Load: 8 clients keep requesting while the server is killed under them.
        stop = asyncio.Event()
        during: list[Outcome] = []

        async def load(n: int) -> None:
            while not stop.is_set():
                during.append(await get(f"198.51.100.{10 + n}"))

        workers = [asyncio.create_task(load(n)) for n in range(8)]
        await asyncio.sleep(0.1)
        server.kill()
        await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*workers)
        assert all(o.status in (200, 429, EXPECTED_STATUS[policy]) for o in during)
        assert max(o.seconds for o in during) < CALL_TIMEOUT + SLACK

        after_kill = [await get("198.51.100.2") for _ in range(3)]
        assert_policy_outcomes(after_kill, policy)
        if policy == "raise":
            assert all(isinstance(exc, BackendError) for exc in app.surfaced)
        assert sum(failure_counts().values()) >= 3

        server.restart()
        assert await wait_until_answering(backend) < 1.0
        await assert_limit_enforced(get, "198.51.100.3")
        assert open_connections(kind, server) <= MAX_POOL  # the dead connections were not kept or multiplied
    assert await connections_after_close(kind, server) == 0  # close() released every connection
    assert not leaked_tasks(before)


@pytest.mark.parametrize("policy", POLICIES)
async def test_a_paused_server_then_resumed(kind: Kind, policy: str, server_factory: ServerFactory) -> None:
    before = set(asyncio.all_tasks())
    server = start_server(kind, server_factory)
    backend = make_backend(kind, server.address)
    async with client_for(backend, policy) as (_app, get):
        assert (await get("198.51.100.1")).status == 200
        server.pause()
        try:
            # Concurrent requests all give up after the timeout, not one after another.
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(get(f"198.51.100.{20 + n}") for n in range(6)))
            assert time.perf_counter() - started < CALL_TIMEOUT + 2 * SLACK
            assert_policy_outcomes(list(outcomes), policy)
        finally:
            server.resume()
        assert await wait_until_answering(backend) < 1.0
        # The client admitted before the pause still has its hit counted: the server kept its state.
        statuses = [(await get("198.51.100.1")).status for _ in range(LIMIT)]
        assert statuses == [200] * (LIMIT - 1) + [429]
        # Timed-out calls abandon their connections; they must not pile up on the server.
        assert open_connections(kind, server) <= MAX_POOL
    assert await connections_after_close(kind, server) == 0
    assert not leaked_tasks(before)


@pytest.mark.parametrize("policy", POLICIES)
async def test_connection_refused_from_the_start(kind: Kind, policy: str) -> None:
    before = set(asyncio.all_tasks())
    backend = make_backend(kind, ("127.0.0.1", free_port()))  # nothing listens there
    if hasattr(backend, "require_startup_connection"):
        backend.require_startup_connection = False  # the app starts anyway; the policy decides each hit
    async with client_for(backend, policy) as (app, get):
        outcomes = [await get("198.51.100.1") for _ in range(4)]
        assert_policy_outcomes(outcomes, policy)
        assert list(failure_counts().values()) == [4]
        if policy == "raise":
            assert len(app.surfaced) == 4
    assert not leaked_tasks(before)
