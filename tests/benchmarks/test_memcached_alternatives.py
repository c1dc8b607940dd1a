"""The memcached throughput scenario times the `limits` library's fixed window beside ours."""

from __future__ import annotations

import pytest
from traffik.testing import MemcachedServer

from benchmarks._strategies import pick
from benchmarks._targets import Target
from benchmarks._throughput import throughput

pytestmark = pytest.mark.memcached


async def test_throughput_prints_our_fixed_window_against_the_limits_library(
    memcached_servers: tuple[MemcachedServer, MemcachedServer],
) -> None:
    servers = tuple(server.address for server in memcached_servers)
    location = ",".join(f"{host}:{port}" for host, port in servers)
    target = Target("memcached", f"memcached://{location}", memcached=servers)
    result = await throughput(target, pick(["FixedWindow"]), operations=100, repeats=1, tasks=5)
    assert [row["strategy"] for row in result["rows"]] == ["FixedWindow", "limits:FixedWindow"]
    [versus] = result["versus"]
    assert (versus["ours"], versus["theirs"]) == ("FixedWindow", "limits:FixedWindow")
    assert versus["ratio"] > 0
