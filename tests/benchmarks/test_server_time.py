"""The server-time scenario: Redis time per hit for every strategy, beside the `limits` library's."""

from __future__ import annotations

import pytest
from traffik.strategies import GCRA, FixedWindow
from traffik.testing import RedisServer

from benchmarks._server_time import print_server_time, server_time
from benchmarks._targets import Target


async def test_server_time_is_none_for_the_memory_backend() -> None:
    assert await server_time(Target("memory", "memory://"), {"FixedWindow": FixedWindow()}, 1, 100) is None


async def test_server_time_counts_every_command_of_a_hit(
    redis_server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    target = Target("redis", redis_server.url, redis_url=redis_server.url)
    result = await server_time(target, {"FixedWindow": FixedWindow(), "GCRA": GCRA()}, 1, 100)
    assert result is not None
    fixed, gcra = result["rows"]
    assert (fixed["strategy"], gcra["strategy"]) == ("FixedWindow", "GCRA")
    # Our FixedWindow is two plain commands; `limits`' is one script, and so is our GCRA
    # (the commands a script runs are inside its time, not counted again).
    assert fixed["traffik_commands_per_hit"] == 2.0
    assert fixed["limits_commands_per_hit"] == gcra["traffik_commands_per_hit"] == 1.0
    assert fixed["traffik_server_us"]["median"] > 0
    assert fixed["limits_server_us"]["median"] > 0
    assert "limits_server_us" not in gcra  # `limits` has no GCRA
    print_server_time(result)
    assert "FixedWindow <= 5.0 µs" in capsys.readouterr().out
