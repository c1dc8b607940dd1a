"""HTTPThrottle.hit / check / stat called directly, on a manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest
from starlette.requests import HTTPConnection, Request
from traffik import EXEMPTED, HTTPThrottle, Rate
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.registry import ThrottleRegistry
from traffik.strategies import FixedWindow, TokenBucket
from traffik.types import StrategyStat


async def test_hit_returns_the_connection_then_raises_429(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/s", backend=backend, registry=registry)
    request = make_request()
    assert await throttle.hit(request) is request
    assert await throttle.hit(make_request()) is not None
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.status_code == 429
    assert info.value.headers is not None
    assert info.value.headers["Retry-After"] == "1"
    assert info.value.detail == "Too many requests. Retry in 1 second."


async def test_retry_after_is_rounded_up_seconds(backend: Any, registry: Any, make_request: Any, clock: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/10s", backend=backend, registry=registry)
    await throttle.hit(make_request())
    clock.advance(2_500)  # 7.5 s left in the window
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.headers == {"Retry-After": "8"}
    assert info.value.retry_after == 8


async def test_window_passes_with_the_clock(backend: Any, registry: Any, make_request: Any, clock: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/s", backend=backend, registry=registry)
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())
    clock.advance(1_000)
    await throttle.hit(make_request())


async def test_counters_are_per_client_method_and_path(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request(path="/a", method="GET"))
    await throttle.hit(make_request(path="/a", method="POST"))
    await throttle.hit(make_request(path="/b", method="GET"))
    await throttle.hit(make_request(path="/a", method="GET", client="198.51.100.2"))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(path="/a", method="GET"))


async def test_use_method_false_shares_one_quota_per_client(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry, use_method=False)
    await throttle.hit(make_request(path="/a", method="GET"))
    await throttle.hit(make_request(path="/b", method="POST"))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(path="/a", method="DELETE"))


async def test_two_throttles_never_share_counters(backend: Any, registry: Any, make_request: Any) -> None:
    # "a:b" + client "c" must not collide with "a" + client "b:c".
    first = HTTPThrottle("a:b", rate="1/min", backend=backend, registry=registry, identifier=lambda c: "c")
    second = HTTPThrottle("a", rate="1/min", backend=backend, registry=registry, identifier=lambda c: "b:c")
    await first.hit(make_request())
    await second.hit(make_request())


async def test_cost_override_zero_and_negative(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    await throttle.hit(make_request(), cost=2)
    for _ in range(5):
        await throttle.hit(make_request(), cost=0)  # cost 0 skips the throttle
    assert backend.hits == 1
    with pytest.raises(ValueError, match="-1"):
        await throttle.hit(make_request(), cost=-1)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(), cost=2)


async def test_static_cost(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="4/min", cost=2, backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_async_cost_callable_gets_connection_and_context(backend: Any, registry: Any, make_request: Any) -> None:
    seen: list[tuple[str, Any]] = []

    async def cost(connection: HTTPConnection, context: Mapping[str, Any]) -> int:
        seen.append((connection.url.path, context.get("tier")))
        return 3 if connection.url.path == "/heavy" else 1

    throttle = HTTPThrottle("t", rate="3/min", cost=cost, context={"tier": "free"}, backend=backend, registry=registry)
    await throttle.hit(make_request(path="/heavy"))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(path="/heavy"))
    assert seen == [("/heavy", "free"), ("/heavy", "free")]


async def test_cost_callable_returning_wrong_type(backend: Any, registry: Any, make_request: Any) -> None:
    async def cost(connection: Any, context: Any) -> Any:
        return "2"

    throttle = HTTPThrottle("wrong-cost", rate="3/min", cost=cost, backend=backend, registry=registry)
    with pytest.raises(ConfigurationError, match=r"wrong-cost.*cost.*'2'"):
        await throttle.hit(make_request())


async def test_async_rate_callable(backend: Any, registry: Any, make_request: Any) -> None:
    async def rate(connection: Request, context: Mapping[str, Any]) -> Rate:
        return Rate.parse("1/min") if connection.headers.get("x-plan") == "free" else Rate.parse("3/min")

    throttle = HTTPThrottle("t", rate=rate, backend=backend, registry=registry)
    await throttle.hit(make_request(headers={"x-plan": "free"}))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(headers={"x-plan": "free"}))
    assert await throttle.check(make_request(client="198.51.100.9")) is True


async def test_rate_callable_returning_wrong_type(backend: Any, registry: Any, make_request: Any) -> None:
    async def rate(connection: Any, context: Any) -> Any:
        return 5

    throttle = HTTPThrottle("wrong-rate", rate=rate, backend=backend, registry=registry)
    with pytest.raises(ConfigurationError, match=r"wrong-rate.*Rate.*5"):
        await throttle.hit(make_request())


async def test_unlimited_rate_never_throttles_nor_calls_backend(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="0/0", backend=backend, registry=registry)
    for _ in range(10):
        await throttle.hit(make_request())
    assert backend.hits == 0


async def test_exempted_skips_backend_entirely(backend: Any, registry: Any, make_request: Any) -> None:
    async def identifier(connection: Request) -> Any:
        return EXEMPTED if connection.headers.get("x-admin") == "yes" else connection.client.host  # type: ignore[union-attr]

    throttle = HTTPThrottle("t", rate="1/min", identifier=identifier, backend=backend, registry=registry)
    for _ in range(5):
        assert await throttle.check(make_request(headers={"x-admin": "yes"})) is True
        await throttle.hit(make_request(headers={"x-admin": "yes"}))
    assert await throttle.stat(make_request(headers={"x-admin": "yes"})) is None
    assert (backend.hits, backend.peeks) == (0, 0)
    await throttle.hit(make_request())
    assert backend.hits == 1


async def test_sync_and_async_identifiers_both_work(backend: Any, registry: Any, make_request: Any) -> None:
    def sync_identifier(connection: Request) -> str:
        return "same-user"

    async def async_identifier(connection: Request) -> str:
        return "same-user"

    for uid, identifier in (("sync", sync_identifier), ("async", async_identifier)):
        throttle = HTTPThrottle(uid, rate="1/min", identifier=identifier, backend=backend, registry=registry)
        await throttle.hit(make_request(client="198.51.100.1"))
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(make_request(client="198.51.100.2"))  # another IP, same identity


async def test_identifier_returning_wrong_type(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle(
        "wrong-id",
        rate="1/min",
        identifier=lambda c: 42,  # type: ignore[arg-type, return-value]  # not a string, on purpose
        backend=backend,
        registry=registry,
    )
    with pytest.raises(ConfigurationError, match=r"wrong-id.*identifier.*42"):
        await throttle.hit(make_request())


@pytest.mark.parametrize("cache_ids", [True, False])
async def test_cache_ids_computes_identity_once_per_connection(
    backend: Any, registry: Any, make_request: Any, cache_ids: bool
) -> None:
    calls = 0

    async def identifier(connection: Request) -> str:
        nonlocal calls
        calls += 1
        return "user"

    burst = HTTPThrottle(
        "burst", rate="10/s", identifier=identifier, cache_ids=cache_ids, backend=backend, registry=registry
    )
    sustained = HTTPThrottle(
        "sustained", rate="100/min", identifier=identifier, cache_ids=cache_ids, backend=backend, registry=registry
    )
    request = make_request()
    await burst.hit(request)
    await sustained.hit(request)
    assert calls == (1 if cache_ids else 2)


async def test_check_never_consumes(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    for _ in range(5):
        assert await throttle.check(make_request()) is True
    await throttle.hit(make_request())
    assert await throttle.check(make_request()) is False
    assert await throttle.check(make_request(), cost=0) is True


async def test_check_with_cost(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    await throttle.hit(make_request(), cost=2)
    assert await throttle.check(make_request(), cost=1) is True
    assert await throttle.check(make_request(), cost=2) is False


async def test_stat_reports_key_rate_remaining_wait(
    backend: Any, registry: Any, make_request: Any, clock: ManualClock
) -> None:
    clock.set(60_000.0)  # start of a fixed window
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    fresh = await throttle.stat(make_request())
    assert isinstance(fresh, StrategyStat)
    assert (fresh.rate, fresh.hits_remaining, fresh.wait_ms) == (Rate.parse("3/min"), 3, 0)
    await throttle.hit(make_request(), cost=3)
    clock.advance(15_000)
    stat = await throttle.stat(make_request())
    assert stat is not None
    assert stat.hits_remaining == 0
    assert stat.wait_ms == 45_000
    assert "203.0.113.1" in str(stat.key)
    assert str(stat.key).startswith("t:")
    assert await throttle.stat(make_request(), cost=1) == stat
    assert backend.hits == 1  # stat consumed nothing


async def test_stat_and_check_work_with_rate_callable(backend: Any, registry: Any, make_request: Any) -> None:
    async def rate(connection: Any, context: Any) -> Rate:
        return Rate.parse("2/min")

    throttle = HTTPThrottle("t", rate=rate, backend=backend, registry=registry)
    stat = await throttle.stat(make_request())
    assert stat is not None
    assert stat.rate == Rate.parse("2/min")
    assert await throttle.check(make_request()) is True


async def test_min_wait_period_floors_only_throttled_waits(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="2/s", min_wait_period=5_000, backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.hit(make_request())  # within the limit: never throttled by the floor
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.headers is not None
    assert info.value.headers["Retry-After"] == "5"


async def test_min_wait_period_does_not_shorten_a_longer_wait(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", min_wait_period=1_000, backend=backend, registry=registry)
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.retry_after > 1


async def test_disable_and_enable(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    states = [throttle.is_disabled]
    await throttle.disable()
    states.append(throttle.is_disabled)
    for _ in range(3):
        await throttle.hit(make_request())
    assert backend.hits == 0
    await throttle.enable()
    states.append(throttle.is_disabled)
    assert states == [False, True, False]
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_custom_handle_throttled_receives_wait_throttle_and_context(
    backend: Any, registry: Any, make_request: Any
) -> None:
    calls: list[tuple[Any, float, Any, Any]] = []

    class Blocked(Exception):
        pass

    async def handler(connection: Request, wait_ms: float, throttle: HTTPThrottle, context: Any) -> None:
        calls.append((connection, wait_ms, throttle, dict(context)))
        raise Blocked

    throttle = HTTPThrottle(
        "t", rate="1/s", handle_throttled=handler, context={"a": 1}, backend=backend, registry=registry
    )
    await throttle.hit(make_request())
    request = make_request()
    with pytest.raises(Blocked):
        await throttle.hit(request, context={"b": 2})
    assert calls == [(request, 1_000.0, throttle, {"a": 1, "b": 2})]


async def test_backend_defaults_fill_gaps(clock: ManualClock, registry: Any, make_request: Any) -> None:
    handled: list[float] = []

    async def handler(connection: Any, wait_ms: float, throttle: Any, context: Any) -> None:
        handled.append(wait_ms)

    backend = InMemoryBackend(clock=clock, identifier=lambda c: "everyone", handle_throttled=handler)
    throttle = HTTPThrottle("t", rate="1/s", backend=backend, registry=registry)
    await throttle.hit(make_request(client="198.51.100.1"))
    await throttle.hit(make_request(client="198.51.100.2"))  # same identity "everyone": throttled
    assert handled == [1_000.0]


async def test_no_backend_anywhere_explains_how_to_provide_one(registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("orphan", rate="1/s", registry=registry)
    with pytest.raises(ConfigurationError, match=r"orphan.*backend.*lifespan"):
        await throttle.hit(make_request())


async def test_active_backend_is_used_when_none_given(clock: ManualClock, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", registry=registry)
    async with InMemoryBackend(clock=clock):
        await throttle.hit(make_request())
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(make_request())
    async with InMemoryBackend(clock=clock):  # a fresh backend: a fresh quota
        await throttle.hit(make_request())


async def test_dynamic_backend_prefers_the_active_one(
    backend: Any, clock: ManualClock, registry: Any, make_request: Any
) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, dynamic_backend=True, registry=registry)
    other = InMemoryBackend(clock=clock)
    async with other:
        await throttle.hit(make_request())
    assert backend.hits == 0
    await throttle.hit(make_request())  # no active backend: the fixed one
    assert backend.hits == 1


async def test_strategy_parameter_is_used(backend: Any, registry: Any, make_request: Any, clock: ManualClock) -> None:
    throttle = HTTPThrottle("t", rate="2/s", strategy=TokenBucket(), backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())
    clock.advance(500)  # a token bucket refills gradually: one token after 500 ms
    await throttle.hit(make_request())


async def test_concurrent_hits_never_exceed_the_limit(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="10/min", backend=backend, registry=registry)

    async def one() -> bool:
        try:
            await throttle.hit(make_request())
        except ConnectionThrottled:
            return False
        return True

    results = await asyncio.gather(*(one() for _ in range(50)))
    assert sum(results) == 10


async def test_default_strategy_is_fixed_window(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/s", backend=backend, registry=registry)
    await throttle.hit(make_request())
    assert throttle._config.bound is not None
    assert isinstance(throttle._config.bound[1].strategy, FixedWindow)


async def test_call_outside_fastapi(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    request = make_request()
    assert await throttle(request) is request
    with pytest.raises(ConnectionThrottled):
        await throttle(make_request())


async def test_registry_argument(backend: Any, make_request: Any) -> None:
    registry = ThrottleRegistry()
    throttle = HTTPThrottle("in-private", rate="1/min", backend=backend, registry=registry)
    assert registry.get_throttle("in-private") is throttle


async def test_repeated_hits_on_one_connection_keep_one_header_record(
    backend: Any, registry: Any, make_request: Any
) -> None:
    from traffik.headers import DEFAULT_HEADERS_ALWAYS

    throttle = HTTPThrottle("t", rate="10/min", headers=DEFAULT_HEADERS_ALWAYS, backend=backend, registry=registry)
    request = make_request()
    for _ in range(5):
        await throttle.hit(request)
    assert len(request.scope["traffik.headers"]) == 1
    assert throttle.response_headers(request)["X-RateLimit-Remaining"] == "5"
