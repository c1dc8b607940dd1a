"""The memcached throughput scenario times the `limits` library's fixed window beside ours."""

from __future__ import annotations

import pytest

from benchmarks._strategies import pick
from benchmarks._targets import Target
from benchmarks._throughput import throughput

pytestmark = pytest.mark.memcached


async def test_throughput_prints_our_fixed_window_against_the_limits_library(
    memcached_target: Target,
) -> None:
    target = memcached_target
    result = await throughput(target, pick(["FixedWindow"]), operations=100, repeats=1, tasks=5)
    assert [row["strategy"] for row in result["rows"]] == ["FixedWindow", "limits:FixedWindow"]
    [versus] = result["versus"]
    assert (versus["ours"], versus["theirs"]) == ("FixedWindow", "limits:FixedWindow")
    assert versus["ratio"] > 0
