"""Auto-pipelined commands (``auto_pipeline=True``): exact, in step, bounded, and reconnecting.

Concurrent hits share one connection per server and their replies are matched
first in, first out; these tests check that no reply ever reaches the wrong
caller (under random cancellations and a frozen server), that a silent server
fails the waiting hits once and the next hits reconnect, and that admissions
stay exact on one key and on many, with and without pipelining.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import pytest
from traffik.backends.memcached import MemcachedBackend
from traffik.backends.memcached._pipeline import Lane, PipelinedClient
from traffik.backends.memcached._replies import parse_counter, parse_stats, parse_stored, parse_value
from traffik.clock import ManualClock
from traffik.exceptions import BackendConnectionError, BackendError, BackendTimeoutError
from traffik.rates import Rate
from traffik.strategies import FixedWindow, ThrottleStrategy
from traffik.testing import MemcachedServer, ServerFactory

from tests.memcached.conftest import BackendFactory

pytestmark = pytest.mark.memcached

MODES = pytest.mark.parametrize("auto_pipeline", [True, False], ids=["pipelined", "pooled"])
# Minutes: nothing in these tests may see a window end on a loaded machine (time is a ManualClock anyway).
NEVER_REACHED = Rate(limit=1_000_000_000, minutes=10)
TIMEOUT = 0.25


def serial_admissions(strategy: ThrottleStrategy, rate: Rate, hits: int, now: float) -> int:
    """How many of ``hits`` hits at ``now`` the pure step admits, one after the other."""
    state, admitted = None, 0
    for _ in range(hits):
        state, decision = strategy.step(state, now, 1, rate)
        admitted += decision.allowed
    return admitted


@pytest.fixture
def server(server_factory: ServerFactory) -> MemcachedServer:
    return server_factory(MemcachedServer)


@pytest.fixture
async def lone_backend(server: MemcachedServer, clock: ManualClock) -> AsyncIterator[MemcachedBackend]:
    backend = MemcachedBackend([server.address], namespace="pipeline", clock=clock, timeout=TIMEOUT)
    await backend.initialize()
    yield backend
    await backend.close()


async def connections(backend: MemcachedBackend) -> tuple[int, int]:
    """The server's ``(curr_connections, total_connections)``."""
    stats = await backend._clients[0].stats()
    return int(stats["curr_connections"]), int(stats["total_connections"])


# -- exactness ----------------------------------------------------------------


@MODES
async def test_two_hundred_concurrent_hits_on_one_key_admit_exactly_the_limit(
    make_backend: BackendFactory, strategy: ThrottleStrategy, auto_pipeline: bool
) -> None:
    backend = make_backend(auto_pipeline=auto_pipeline)
    rate = Rate.parse("100/min")
    decisions = await asyncio.gather(*(backend.hit("one", strategy, rate) for _ in range(200)))
    assert sum(decision.allowed for decision in decisions) == serial_admissions(strategy, rate, 200, backend.clock())


@MODES
async def test_two_hundred_concurrent_hits_on_many_keys_admit_exactly_the_limit_of_each(
    make_backend: BackendFactory, strategy: ThrottleStrategy, auto_pipeline: bool
) -> None:
    backend = make_backend(auto_pipeline=auto_pipeline)
    rate = Rate.parse("7/min")
    keys = [f"client-{index}" for index in range(20)]  # spread over both servers
    hits = [key for key in keys for _ in range(10)]
    random.Random(19).shuffle(hits)
    decisions = await asyncio.gather(*(backend.hit(key, strategy, rate) for key in hits))
    admitted = dict.fromkeys(keys, 0)
    for key, decision in zip(hits, decisions, strict=True):
        admitted[key] += decision.allowed
    assert admitted == dict.fromkeys(keys, serial_admissions(strategy, rate, 10, backend.clock()))


async def test_concurrent_hits_on_different_keys_share_one_connection(
    lone_backend: MemcachedBackend, strategy: ThrottleStrategy
) -> None:
    _, opened = await connections(lone_backend)
    decisions = await asyncio.gather(*(lone_backend.hit(f"c-{i}", strategy, NEVER_REACHED) for i in range(200)))
    assert all(decision.allowed for decision in decisions)
    assert (await connections(lone_backend))[1] == opened  # no connection opened for them


def test_auto_pipeline_must_be_a_bool() -> None:
    with pytest.raises(Exception, match=r"MemcachedBackend.*auto_pipeline.*'yes'"):
        MemcachedBackend([("127.0.0.1", 11211)], auto_pipeline="yes")  # type: ignore[arg-type]


def test_the_pooled_path_is_kept_behind_auto_pipeline_false() -> None:
    assert isinstance(MemcachedBackend([("127.0.0.1", 11211)])._clients[0], PipelinedClient)
    pooled = MemcachedBackend([("127.0.0.1", 11211)], auto_pipeline=False)
    assert pooled.auto_pipeline is False
    assert not isinstance(pooled._clients[0], PipelinedClient)


# -- replies matched in order ---------------------------------------------------


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))

    def abort(self) -> None:
        self.aborted = True


async def test_replies_split_at_every_byte_reach_their_commands_in_order() -> None:

    replies = b"VALUE k 0 5 42\r\nab\r\nc\r\nEND\r\nNOT_FOUND\r\n17\r\nSTORED\r\nEND\r\nSTAT pid 1\r\nEND\r\n"
    lane = Lane("test:1", 60.0)
    transport = _Transport()
    lane.connection_made(transport)
    futures = [
        lane.send(b"gets k\r\n", parse_value),
        lane.send(b"incr x 1\r\n", parse_counter),
        lane.send(b"incr y 1\r\n", parse_counter),
        lane.send(b"add z 0 0 1\r\n1\r\n", parse_stored),
        lane.send(b"get w\r\n", parse_value),
        lane.send(b"stats\r\n", parse_stats),
    ]
    await asyncio.sleep(0)
    assert transport.written == [b"gets k\r\nincr x 1\r\nincr y 1\r\nadd z 0 0 1\r\n1\r\nget w\r\nstats\r\n"]
    futures[1].cancel()  # its reply is still read, and dropped
    for index in range(len(replies)):
        lane.data_received(replies[index : index + 1])
    assert futures[0].result() == (b"ab\r\nc", 42)
    assert futures[1].cancelled()
    assert [future.result() for future in futures[2:]] == [17, True, (None, None), {"pid": "1"}]
    assert lane.in_flight == 0
    assert not transport.aborted
    lane.data_received(b"STORED\r\n")  # nobody asked: the lane is out of step and dropped
    assert (transport.aborted, lane.open) == (True, False)


# -- faults --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_cancellations_and_a_frozen_server_never_hand_a_reply_to_the_wrong_caller(
    lone_backend: MemcachedBackend, server: MemcachedServer, seed: int
) -> None:
    """Each caller checks its own key: its count moves in steps of its own cost, within what it sent."""
    rng = random.Random(seed)
    strategy = FixedWindow()
    client = lone_backend._clients[0]
    before, _ = await connections(lone_backend)
    outcomes = {"ok": 0, "cancelled": 0, "failed": 0}
    thawed = asyncio.Event()  # every caller keeps going until the server has been frozen twice

    async def hits(caller: int) -> None:
        cost = caller + 1  # distinct steps: another caller's count is never a multiple within bounds
        known = sent = rounds = 0
        while rounds < 30 or not thawed.is_set():
            rounds += 1
            sent += cost
            task = asyncio.ensure_future(lone_backend.hit(f"caller-{caller}", strategy, NEVER_REACHED, cost))
            if rng.random() < 0.2:
                for _ in range(rng.randrange(3)):
                    await asyncio.sleep(0)
                task.cancel()
            try:
                decision = await task
            except asyncio.CancelledError:
                outcomes["cancelled"] += 1
                continue
            except BackendError:
                outcomes["failed"] += 1
                continue
            count = NEVER_REACHED.limit - int(decision.hits_remaining)
            assert count % cost == 0, (caller, count)
            assert known + cost <= count <= sent, (caller, known, count, sent)
            known = sent = count
            outcomes["ok"] += 1

    async def values(caller: int) -> None:
        # Plain set/get on the same connection: every value read back names its own caller.
        index = 0
        while index < 30 or not thawed.is_set():
            index += 1
            key = b"value-%d" % caller
            try:
                await client.set(key, b"%d:%d" % (caller, index), 600)
                value = await asyncio.wait_for(client.get(key), rng.choice([0.0005, 1.0]))
            except (asyncio.TimeoutError, BackendError):
                continue
            assert value is not None
            assert value.split(b":")[0] == b"%d" % caller

    async def freeze() -> None:
        for _ in range(2):
            await asyncio.sleep(rng.uniform(0.005, 0.03))
            server.pause()  # blocks the loop briefly; replies stop
            try:
                await asyncio.sleep(TIMEOUT * 1.5)  # longer than the timeout: the waiting commands fail
            finally:
                server.resume()
        thawed.set()

    await asyncio.gather(freeze(), *(hits(caller) for caller in range(12)), *(values(caller) for caller in range(4)))
    assert min(outcomes.values()) > 0, outcomes  # some hits answered, some cancelled, some timed out
    # No connection leaks: the dropped ones are closed (the server notices within a moment).
    for _ in range(50):
        if (await connections(lone_backend))[0] <= before:
            break
        await asyncio.sleep(0.02)
    assert (await connections(lone_backend))[0] <= before
    assert not [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]


async def test_a_silent_server_fails_the_waiting_hits_once_and_the_next_hits_reconnect(
    lone_backend: MemcachedBackend, server: MemcachedServer
) -> None:
    strategy = FixedWindow()
    keys = [f"client-{index}" for index in range(10)]
    assert all([(await lone_backend.hit(key, strategy, NEVER_REACHED)).allowed for key in keys])
    _, opened = await connections(lone_backend)
    loop = asyncio.get_running_loop()
    server.pause()
    try:
        started = loop.time()
        results = await asyncio.gather(
            *(lone_backend.hit(key, strategy, NEVER_REACHED) for key in keys), return_exceptions=True
        )
        elapsed = loop.time() - started
    finally:
        server.resume()
    assert all(isinstance(result, BackendTimeoutError) for result in results), results
    assert elapsed < 4 * TIMEOUT
    decisions = [await lone_backend.hit(key, strategy, NEVER_REACHED) for key in keys]
    # One new connection; nothing was sent twice: each key counts its first hit, perhaps the
    # timed-out one (the server may have read it after it thawed), and this one.
    assert (await connections(lone_backend))[1] == opened + 1  # one new connection, shared by these hits
    assert all(NEVER_REACHED.limit - decision.hits_remaining in (2, 3) for decision in decisions)


async def test_a_restarted_server_is_used_again_by_concurrent_hits(
    lone_backend: MemcachedBackend, server: MemcachedServer
) -> None:
    strategy = FixedWindow()
    keys = [f"client-{index}" for index in range(20)]
    await asyncio.gather(*(lone_backend.hit(key, strategy, NEVER_REACHED) for key in keys))
    server.restart()
    # The connection the old server closed is dropped; the hits it had not answered go once
    # more on a new one, and memcached starts every count again.
    decisions = await asyncio.gather(*(lone_backend.hit(key, strategy, NEVER_REACHED) for key in keys))
    assert [NEVER_REACHED.limit - decision.hits_remaining for decision in decisions] == [1] * len(keys)


async def test_a_killed_server_fails_pipelined_hits_with_a_connection_error(
    lone_backend: MemcachedBackend, server: MemcachedServer
) -> None:
    await lone_backend.hit("client", FixedWindow(), NEVER_REACHED)
    server.kill()
    results = await asyncio.gather(
        *(lone_backend.hit(f"c-{i}", FixedWindow(), NEVER_REACHED) for i in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, BackendConnectionError) for result in results), results


async def test_a_held_up_event_loop_does_not_time_out_replies_that_arrived(lone_backend: MemcachedBackend) -> None:
    strategy = FixedWindow()
    await lone_backend.hit("warm", strategy, NEVER_REACHED)
    tasks = [asyncio.ensure_future(lone_backend.hit(f"c-{i}", strategy, NEVER_REACHED)) for i in range(20)]
    await asyncio.sleep(0)  # the hits queue their commands; the write is the next callback
    # Then the loop is held up past the timeout (a burst of synchronous work), while the server answers.
    asyncio.get_running_loop().call_soon(time.sleep, 3 * TIMEOUT)
    decisions = await asyncio.gather(*tasks)
    assert all(decision.allowed for decision in decisions)


async def test_callers_cancelled_while_the_connection_opens_leave_it_usable(
    server: MemcachedServer, clock: ManualClock
) -> None:
    backend = MemcachedBackend([server.address], namespace="opening", clock=clock, timeout=TIMEOUT)
    client = backend._clients[0]
    tasks = [asyncio.ensure_future(client.incr(b"counter", 1)) for _ in range(5)]
    await asyncio.sleep(0)  # they wait for the connection being opened
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await client.add(b"counter", b"7", 600)  # no cancelled incr ran
    assert await client.incr(b"counter", 1) == 8
    await backend.close()


async def test_remembered_key_locations_stay_bounded_and_follow_a_clear(backend: MemcachedBackend) -> None:
    strategy, rate = FixedWindow(), Rate.parse("1/min")
    for start in range(0, 5_000, 500):
        await asyncio.gather(*(backend.hit(f"client-{n}", strategy, rate) for n in range(start, start + 500)))
    assert 0 < len(backend._located) <= 4_096
    assert not (await backend.hit("client-4999", strategy, rate)).allowed
    await backend.clear()  # a new generation: no remembered key of the old one is used again
    assert (await backend.hit("client-4999", strategy, rate)).allowed
