"""The benchmark command's building blocks: targets, floors, the load client, contention, footprints."""

from __future__ import annotations

import pytest
from traffik.exceptions import ConfigurationError
from traffik.testing import RedisServer

from benchmarks.__main__ import main
from benchmarks._accuracy import contention, expected_admissions
from benchmarks._footprint import footprint
from benchmarks._loadgen import LoadError, load
from benchmarks._native import native_benchmarks
from benchmarks._strategies import CONTENDED_RATE, STRATEGIES, contended, pick
from benchmarks._targets import Target, parse_memcached, provision
from benchmarks._timing import measure_interleaved, ratio, set_run_seconds, spread

MEMORY = Target("memory", "memory://")


def test_parse_memcached_reads_host_port_pairs() -> None:
    assert parse_memcached("127.0.0.1:11211, 127.0.0.1:11212") == (("127.0.0.1", 11211), ("127.0.0.1", 11212))


def test_parse_memcached_rejects_an_address_without_port() -> None:
    with pytest.raises(ConfigurationError, match=r"--memcached.*'127\.0\.0\.1'"):
        parse_memcached("127.0.0.1")


def test_provision_rejects_an_unknown_backend() -> None:
    with pytest.raises(ConfigurationError, match="--backend: unknown backend 'nope'"), provision(["nope"]):
        pass


def test_provision_needs_a_url_for_a_plugin_backend() -> None:
    with pytest.raises(ConfigurationError, match="--backend 'sqlite' needs --url"), provision(["sqlite"]):
        pass


def test_provision_uses_given_servers_without_starting_any() -> None:
    with provision(["memcached", "redis"], redis_url="redis://127.0.0.1:1", memcached=(("127.0.0.1", 2),)) as (
        targets,
        notes,
    ):
        assert targets == [
            Target("memcached", "memcached://127.0.0.1:2", memcached=(("127.0.0.1", 2),)),
            Target("redis", "redis://127.0.0.1:1", redis_url="redis://127.0.0.1:1"),
        ]
        assert notes == []


def test_the_command_exits_2_on_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--backend", "nope", "--quick"]) == 2
    assert "unknown backend 'nope'" in capsys.readouterr().err


def test_spread_and_ratio() -> None:
    assert spread([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0}
    assert ratio(3.0, 1.5) == 2.0
    assert ratio(3.0, None) is None


def test_pick_keeps_the_canonical_order() -> None:
    assert list(pick(["GCRA", "FixedWindow"])) == ["FixedWindow", "GCRA"]
    assert list(pick(None)) == list(STRATEGIES)


@pytest.mark.parametrize("name", list(STRATEGIES))
async def test_the_reference_admits_the_limit_at_one_instant(name: str) -> None:
    debt = 10 if name == "TokenBucketWithDebt" else 0
    assert await expected_admissions(contended(name), 4 * CONTENDED_RATE.limit) == CONTENDED_RATE.limit + debt


async def test_memory_footprint_counts_store_reads_and_writes_per_hit() -> None:
    result = await footprint(MEMORY, pick(["FixedWindow", "SlidingWindowLog"]), hits=50, keys=200)
    assert result["FixedWindow"]["store_ops_per_hit"] == 2.0
    # A short log is a tuple (read and rewritten: 2 operations); a log longer than
    # 8 entries is mutated in place (1 read). The benchmark's keys see both.
    log_ops = result["SlidingWindowLog"]["store_ops_per_hit"]
    assert log_ops is not None
    assert 1.0 < log_ops < 2.0
    assert all(row["bytes_per_live_key"] is not None and row["bytes_per_live_key"] > 50 for row in result.values())


async def test_native_benchmarks_are_none_for_the_memory_backend() -> None:
    assert await native_benchmarks(MEMORY, 10, 1) is None


async def test_the_load_client_refuses_non_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await load("192.0.2.1", 80, "/", 1, 1, 1.0)


async def test_the_load_client_sends_exactly_the_requested_count(tiny_server: tuple[int, list[int]]) -> None:
    port, seen = tiny_server
    elapsed = await load("127.0.0.1", port, "/ok", 37, 4, 10.0)
    assert elapsed > 0
    assert seen[0] == 37


async def test_the_load_client_fails_on_a_non_200_answer(tiny_server: tuple[int, list[int]]) -> None:
    port, _ = tiny_server
    with pytest.raises(LoadError, match="expected 200, got 429"):
        await load("127.0.0.1", port, "/limited", 3, 1, 10.0)


@pytest.mark.slow
@pytest.mark.redis
async def test_redis_admits_exactly_the_limit_across_processes(redis_server: RedisServer) -> None:
    target = Target("redis", redis_server.url, redis_url=redis_server.url)
    result = await contention(target, pick(["FixedWindow", "TokenBucket"]), processes=2, tasks=10, attempts=600)
    assert result["processes"] == 2
    assert [(row["admitted"], row["expected"]) for row in result["rows"]] == [(200, 200), (200, 200)]


class _FakeRun:
    """A variant whose runs "take" 1 ms per operation, recording the counts it was asked for."""

    def __init__(self) -> None:
        self.counts: list[int] = []

    async def __call__(self, n: int) -> float:
        self.counts.append(n)
        return n * 0.001


async def test_runs_use_the_given_count_by_default() -> None:
    run = _FakeRun()
    (sample,) = await measure_interleaved([("fake", run)], operations=40, repeats=3)
    assert run.counts == [4, 40, 40, 40]  # a tenth for the warm-up, then the count
    assert sample.runs_us == pytest.approx([1000.0] * 3)


async def test_duration_sizes_each_run_from_its_warm_up() -> None:
    run = _FakeRun()
    set_run_seconds(0.5)
    try:
        (sample,) = await measure_interleaved([("fake", run)], operations=40, repeats=2)
    finally:
        set_run_seconds(None)
    # Warm-up: 4 operations "took" 4 ms, so 0.5 s is 500 operations.
    assert run.counts == [4, 500, 500]
    assert sample.median == pytest.approx(1000.0)


async def test_duration_sizing_is_bounded_in_count() -> None:
    run = _FakeRun()
    set_run_seconds(1_000.0)
    try:
        await measure_interleaved([("fake", run)], operations=40, repeats=1)
    finally:
        set_run_seconds(None)
    assert run.counts == [4, 4_000]


@pytest.mark.slow
@pytest.mark.memcached
async def test_memcached_admits_exactly_the_limit_across_processes(
    memcached_target: Target,
) -> None:
    target = memcached_target
    result = await contention(target, pick(["FixedWindow", "GCRA"]), processes=2, tasks=10, attempts=600)
    assert [(row["admitted"], row["expected"], row["errors"]) for row in result["rows"]] == [(200, 200, 0)] * 2
