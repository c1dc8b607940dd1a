"""update_* swap one setting atomically; the next hit uses it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from traffik import HTTPThrottle, Rate
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.strategies import TokenBucket


async def test_update_rate(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.update_rate("3/min")
    assert throttle.rate == Rate.parse("3/min")
    await throttle.hit(make_request())
    await throttle.update_rate(Rate(limit=2, minutes=1))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())
    with pytest.raises(ConfigurationError, match=r"'t'.*rate.*'fast'"):
        await throttle.update_rate("fast")


async def test_update_backend(backend: Any, clock: ManualClock, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request())
    fresh = InMemoryBackend(clock=clock)
    await throttle.update_backend(fresh)
    await throttle.hit(make_request())  # new backend, new quota
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())
    with pytest.raises(ConfigurationError, match="backend"):
        await throttle.update_backend("memory://")  # type: ignore[arg-type]


async def test_update_strategy(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/s", backend=backend, registry=registry)
    await throttle.update_strategy(TokenBucket())
    await throttle.hit(make_request())
    assert isinstance(throttle._config.bound[1].strategy, TokenBucket)  # type: ignore[index]
    with pytest.raises(ConfigurationError, match="strategy"):
        await throttle.update_strategy("token")  # type: ignore[arg-type]


async def test_update_cost(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    await throttle.update_cost(3)
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())
    await throttle.update_cost(0)
    await throttle.hit(make_request())
    with pytest.raises(ConfigurationError, match=r"cost.*-4"):
        await throttle.update_cost(-4)


async def test_update_identifier(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.update_identifier(lambda connection: "someone-else")
    await throttle.hit(make_request())
    with pytest.raises(ConfigurationError, match="identifier"):
        await throttle.update_identifier(42)  # type: ignore[arg-type]  # not callable, on purpose


async def test_update_headers(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry)
    request = make_request()
    await throttle.hit(request)
    assert throttle.response_headers(request) == {}
    await throttle.update_headers(DEFAULT_HEADERS_ALWAYS)
    second = make_request()
    await throttle.hit(second)
    assert throttle.response_headers(second)["X-RateLimit-Remaining"] == "0"
    await throttle.update_headers(None)
    third = make_request(client="198.51.100.3")
    await throttle.hit(third)
    assert throttle.response_headers(third) == {}


async def test_update_min_wait_period(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/s", backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.update_min_wait_period(10_000)
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.retry_after == 10
    with pytest.raises(ConfigurationError, match="min_wait_period"):
        await throttle.update_min_wait_period(-1)


async def test_update_handle_throttled(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request())
    waits: list[float] = []

    async def handler(connection: Any, wait_ms: float, throttle: Any, context: Any) -> None:
        waits.append(wait_ms)

    await throttle.update_handle_throttled(handler)
    await throttle.hit(make_request())  # the handler does not raise: the request goes on
    assert len(waits) == 1
    await throttle.update_handle_throttled(None)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_updates_are_safe_under_concurrent_hits(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1000/min", backend=backend, registry=registry)

    async def hammer() -> None:
        for _ in range(50):
            await throttle.hit(make_request())
            await asyncio.sleep(0)

    async def flip() -> None:
        for index in range(50):
            await throttle.update_rate("1000/min" if index % 2 else "2000/min")
            await throttle.update_cost(1 if index % 2 else 2)
            await asyncio.sleep(0)

    await asyncio.gather(hammer(), hammer(), flip())
    stat = await throttle.stat(make_request())
    assert stat is not None
    assert stat.rate in (Rate.parse("1000/min"), Rate.parse("2000/min"))
