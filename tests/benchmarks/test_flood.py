"""The flood scenario: denied hits with the deny cache stop costing Redis calls."""

from __future__ import annotations

import pytest
from traffik.testing import RedisServer

from benchmarks._flood import flood, print_flood
from benchmarks._targets import Target


async def test_flood_is_none_for_the_memory_backend() -> None:
    assert await flood(Target("memory", "memory://"), 1) is None


async def test_flood_counts_redis_calls_per_denied_hit(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    result = await flood(Target("redis", redis_server.url, redis_url=redis_server.url), 1, hits=400)
    assert result is not None
    without, with_cache = result["rows"]
    assert (without["deny_cache"], with_cache["deny_cache"]) == (False, True)
    assert without["calls_per_denied_hit"]["median"] == 1.0
    assert with_cache["calls_per_denied_hit"]["median"] == 20 / 400  # one Redis denial per client
    print_flood(result)
    assert "Redis calls/denied hit" in capsys.readouterr().out
