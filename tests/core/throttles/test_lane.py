"""The lean hit (the throttle's lane, taken from a configuration's second hit on) decides as the full chain does."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from starlette.requests import HTTPConnection, Request
from traffik import EXEMPTED, HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.error_handlers import reset_failure_counts
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.headers import DEFAULT_HEADERS_ALWAYS
from traffik.rates import Rate
from traffik.types import Exempted


async def test_an_async_identifier_keys_every_hit_after_the_first(
    backend: Any, registry: Any, make_request: Any
) -> None:
    async def identify(connection: HTTPConnection) -> str:
        return connection.headers["x-user"]

    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry, identifier=identify)
    for _ in range(2):
        await throttle.hit(make_request(headers={"x-user": "ada"}))
    await throttle.hit(make_request(headers={"x-user": "bob"}))  # another identity, its own quota
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request(headers={"x-user": "ada"}))


@pytest.mark.parametrize("cache_ids", [True, False], ids=["cache_ids", "no-cache"])
async def test_a_client_exempted_after_the_first_hit_is_never_counted(
    backend: Any, registry: Any, make_request: Any, cache_ids: bool
) -> None:
    def identify(connection: HTTPConnection) -> str | Exempted:
        return EXEMPTED if connection.headers.get("x-admin") else "client"

    throttle = HTTPThrottle(
        "t", rate="1/min", backend=backend, registry=registry, identifier=identify, cache_ids=cache_ids
    )
    await throttle.hit(make_request())
    for _ in range(3):
        await throttle.hit(make_request(headers={"x-admin": "1"}))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_an_identifier_that_turns_invalid_after_the_first_hit_is_refused(
    backend: Any, registry: Any, make_request: Any
) -> None:
    answers: list[Any] = ["client", 42]
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, identifier=lambda _: answers.pop(0))
    await throttle.hit(make_request())
    with pytest.raises(ConfigurationError, match="must return a string or EXEMPTED"):
        await throttle.hit(make_request())


async def test_updates_after_hits_reach_the_next_hit(backend: Any, registry: Any, make_request: Any) -> None:
    throttle = HTTPThrottle("t", rate="1/min", backend=backend, registry=registry)
    await throttle.hit(make_request())
    await throttle.update_rate("3/min")
    await throttle.hit(make_request())  # 2 of 3
    await throttle.update_cost(2)
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())  # 2 more would make 4 of 3


async def test_a_per_hit_cost_or_context_still_counts_on_the_same_key(
    backend: Any, registry: Any, make_request: Any
) -> None:
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    await throttle.hit(make_request())  # through the full chain; the lane takes the next
    await throttle.hit(make_request(), cost=1, context={"plan": "free"})
    await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_on_the_in_memory_backend_the_lane_counts_and_sets_headers_as_the_chain(
    registry: Any, make_request: Any, clock: Any
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)  # its own hit: answered without a coroutine
    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry, headers=DEFAULT_HEADERS_ALWAYS)
    first, second = make_request(), make_request()
    await throttle.hit(first)
    await throttle.hit(second)
    assert HTTPThrottle.response_headers(first)["X-RateLimit-Remaining"] == "1"
    assert HTTPThrottle.response_headers(second)["X-RateLimit-Remaining"] == "0"
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.headers is not None
    assert info.value.headers["Retry-After"] == "20"  # windows align to the minute: 1_000_000 ms is 40 s in
    clock.advance(20_000)
    await throttle.hit(make_request())


async def test_a_fault_patched_on_the_backend_instance_is_not_bypassed(
    registry: Any, make_request: Any, clock: Any
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)

    async def failing(key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        raise ConnectionError("store down")

    backend.hit = failing  # type: ignore[method-assign]
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, on_error="throttle")
    for _ in range(2):  # the chain, then the lane
        with pytest.raises(ConnectionThrottled):
            await throttle.hit(make_request())


@pytest.mark.parametrize(
    "client",
    ["203.0.113.7", "::ffff:203.0.113.7", "2001:DB8::1", "testclient", "a:b\\c", None],
    ids=["ipv4", "ipv4-mapped", "ipv6", "name", "colon-and-backslash", "no-client"],
)
async def test_the_lane_keys_a_client_as_the_default_identifier_does(
    backend: Any, registry: Any, client: str | None
) -> None:
    def request() -> Request:
        scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/items", "headers": []}
        if client is not None:
            scope["client"] = (client, 1234)
        return Request(scope)

    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry)
    await throttle.hit(request())  # the chain
    await throttle.hit(request())  # the lane
    stat = await throttle.stat(request())  # the chain's key: both hits must be on it
    assert stat is not None
    assert stat.hits_remaining == 3


@pytest.mark.parametrize(
    ("other_path", "other_method", "other_client"),
    [
        ("/other", "GET", "203.0.113.1"),
        ("/items", "POST", "203.0.113.1"),
        ("/items", "GET", "203.0.113.2"),
        ("/items", "HEAD", "203.0.113.1"),  # HEAD shares GET's quota: the same key, another cache entry
    ],
    ids=["path", "method", "client", "head-is-get"],
)
async def test_the_lane_reuses_a_key_per_client_method_and_path(
    backend: Any, registry: Any, make_request: Any, other_path: str, other_method: str, other_client: str
) -> None:
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    for _ in range(2):  # the chain, then the lane (which caches its key)
        await throttle.hit(make_request())
    await throttle.hit(make_request(path=other_path, method=other_method, client=other_client))
    first = await throttle.stat(make_request())  # the chain's keys
    other = await throttle.stat(make_request(path=other_path, method=other_method, client=other_client))
    assert first is not None
    assert other is not None
    shared = other_method == "HEAD"
    assert (first.hits_remaining, other.hits_remaining) == ((0, 0) if shared else (1, 2))


async def test_a_key_cached_under_one_identifier_is_not_reused_after_update_identifier(
    backend: Any, registry: Any, make_request: Any
) -> None:
    mapped = "::ffff:203.0.113.7"  # the default identifier keys it as 203.0.113.7
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry)
    for _ in range(2):
        await throttle.hit(make_request(client=mapped))
    await throttle.update_identifier(lambda connection: connection.client.host)  # the address as it came
    for _ in range(2):
        await throttle.hit(make_request(client=mapped))
    stat = await throttle.stat(make_request(client=mapped))
    assert stat is not None
    assert stat.hits_remaining == 3  # the new identifier's key got both hits, the old one's none


async def test_a_middleware_pattern_and_a_concrete_path_of_the_same_text_keep_their_own_keys(
    backend: Any, registry: Any, make_request: Any
) -> None:
    from traffik.throttles import MiddlewareThrottle

    throttle = HTTPThrottle("t", rate="2/min", backend=backend, registry=registry)
    middleware = MiddlewareThrottle(throttle, path="a:b")  # its key's path component: glob=a\:b, escaped
    for _ in range(2):  # a concrete path whose text is that escaped component (escaped again in its key)
        await throttle.hit(make_request(path="glob=a\\:b"))
    for _ in range(2):
        await middleware(make_request(path="a:b"))  # the pattern's own counter: not the path's
    with pytest.raises(ConnectionThrottled):
        await middleware(make_request(path="a:b"))


async def test_the_lane_key_cache_is_bounded_and_keys_stay_right_after_it_is_cleared(
    registry: Any, make_request: Any, clock: Any
) -> None:
    from traffik.throttles._lane import KEY_CACHE_SIZE

    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    throttle = HTTPThrottle("t", rate="2/hour", backend=backend, registry=registry)
    await throttle.hit(make_request(client="10.0.0.0"))  # the chain builds the lane
    lane = throttle._lane
    assert lane is not None
    keys = lane.keys
    for n in range(KEY_CACHE_SIZE + 10):
        await throttle.hit(make_request(client=f"10.0.{n // 256}.{n % 256}"))
        held = sum(len(by_identity) for by_path in keys.values() for by_identity in by_path.values())
        assert held == keys.size <= KEY_CACHE_SIZE
    assert keys.size < KEY_CACHE_SIZE  # cleared once full
    with pytest.raises(ConnectionThrottled):  # 10.0.0.0: its third hit, its key built anew after the clear
        await throttle.hit(make_request(client="10.0.0.0"))


class _Route:
    """A matched route as Starlette leaves it in the scope (only its template is read)."""

    def __init__(self, path_format: object) -> None:
        self.path_format = path_format


@pytest.mark.parametrize("call", ["hit", "dependency"], ids=["hit", "dependency"])
async def test_routed_hits_on_the_lane_key_on_the_template_after_the_root_path(
    backend: Any, registry: Any, call: str
) -> None:
    items, untemplated = _Route("/items/{item_id}"), _Route(None)

    def request(path: str, route: object, root_path: str = "") -> Request:
        scope = {"type": "http", "method": "GET", "path": path, "root_path": root_path, "headers": []}
        return Request({**scope, "route": route, "client": ("203.0.113.7", 1234)})

    throttle = HTTPThrottle("t", rate="9/min", backend=backend, registry=registry)
    attach = throttle.hit if call == "hit" else throttle
    for item in (1, 2, 3):  # the chain, then the lane: one counter for the template
        await attach(request(f"/items/{item}", items))
    await attach(request("/items/1", items, root_path="/v2"))  # another mount: its own counter
    for _ in range(2):  # no template: the concrete path
        await attach(request("/loose", untemplated))
    remaining = {}
    for name, probe in {
        "template": request("/items/9", items),
        "mounted": request("/items/9", items, root_path="/v2"),
        "concrete": request("/loose", untemplated),
    }.items():
        stat = await throttle.stat(probe)  # the chain's key
        assert stat is not None
        remaining[name] = stat.hits_remaining
    assert remaining == {"template": 6, "mounted": 8, "concrete": 7}


@pytest.mark.parametrize("in_memory", [False, True], ids=["awaited-backend", "in-memory-step"])
async def test_an_update_during_a_configurations_first_hit_leaves_no_lane_for_the_old_one(
    backend: Any, registry: Any, make_request: Any, clock: Any, in_memory: bool
) -> None:
    # The lane is read without comparing configurations: a first hit that finishes after an
    # update must not install a lane for the configuration it started with.
    store = InMemoryBackend(clock=clock, cleanup_frequency=None) if in_memory else backend
    identified, gate = asyncio.Event(), asyncio.Event()

    async def identify(connection: HTTPConnection) -> str:
        if not identified.is_set():
            identified.set()
            await gate.wait()
        return "client"

    throttle = HTTPThrottle("t", rate="1/min", backend=store, registry=registry, identifier=identify)
    first = asyncio.create_task(throttle.hit(make_request()))
    await identified.wait()  # the first hit holds the 1/min configuration, awaiting its identity
    await throttle.update_rate("3/min")
    gate.set()
    await first  # 1 of 3
    for _ in range(2):  # 2 and 3 of 3: the 1/min configuration would refuse both
        await throttle.hit(make_request())
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(make_request())


async def test_a_lane_hit_in_flight_during_an_update_finishes_under_its_own_configuration(
    registry: Any, make_request: Any, clock: Any
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    sent, gate = _gated_failures(backend, lambda call: call >= 2)
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, on_error="throttle")
    await throttle.hit(make_request())  # the chain; the lane takes the next
    second = asyncio.create_task(throttle.hit(make_request()))
    await sent.wait()
    await throttle.update_on_error("allow")  # from the next hit on
    gate.set()
    with pytest.raises(ConnectionThrottled):  # the in-flight hit keeps "throttle"
        await second
    await throttle.hit(make_request())  # the next one fails open


async def test_a_lane_hit_in_flight_keeps_its_lane_when_another_hit_replaces_it(
    registry: Any, make_request: Any, clock: Any
) -> None:
    # An update, then a hit through the chain, leave the throttle with no lane (a rate computed per
    # request takes none): the failing hit that began on the lane must not look it up again.
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    sent, gate = _gated_failures(backend, lambda call: call == 2)

    async def per_request(connection: Any, context: Any) -> Rate:
        return Rate.parse("5/min")

    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, on_error="throttle")
    await throttle.hit(make_request())  # the chain; the lane takes the next
    second = asyncio.create_task(throttle.hit(make_request()))
    await sent.wait()
    await throttle.update_rate(per_request)
    await throttle.hit(make_request())  # the chain, under a configuration with no lane
    gate.set()
    with pytest.raises(ConnectionThrottled):  # its own on_error, not an AssertionError
        await second


def _gated_failures(backend: InMemoryBackend, fails: Callable[[int], bool]) -> tuple[asyncio.Event, asyncio.Event]:
    """Make the backend's calls numbered ``fails`` (1 = the first) set ``sent``, wait for ``gate``, then raise.

    The other calls hit as usual. The wrapper is awaited, so the lane's backend call is a coroutine.
    """
    calls, sent, gate = 0, asyncio.Event(), asyncio.Event()

    async def hit(key: str, strategy: Any, rate: Any, cost: int = 1) -> Any:
        nonlocal calls
        calls += 1
        if not fails(calls):
            return await InMemoryBackend.hit(backend, key, strategy, rate, cost)
        sent.set()
        await gate.wait()
        raise ConnectionError("store down")

    backend.hit = hit  # type: ignore[method-assign]
    return sent, gate


# -- a quiet lane on the in-memory backend admits without building a decision ---------------------


async def test_a_quiet_lane_admits_up_to_the_limit_then_denies_until_the_next_window(
    registry: Any, make_request: Any, clock: Any
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    throttle = HTTPThrottle("t", rate="3/min", backend=backend, registry=registry)
    for _ in range(3):
        await throttle.hit(make_request())
    lane = throttle._lane
    assert lane is not None
    assert lane.admit is not None
    with pytest.raises(ConnectionThrottled) as info:
        await throttle.hit(make_request())
    assert info.value.headers is not None
    assert info.value.headers["Retry-After"] == "20"
    clock.advance(20_000)
    await throttle.hit(make_request())


def _broken_clock() -> float:
    raise RuntimeError("clock unreadable")


@pytest.mark.parametrize("on_error", ["allow", "throttle"])
async def test_a_quiet_lane_whose_backend_fails_follows_on_error(
    registry: Any, make_request: Any, clock: Any, on_error: str
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, on_error=on_error)  # type: ignore[arg-type]
    await throttle.hit(make_request())  # the chain, which builds the lane
    assert throttle._lane is not None
    assert throttle._lane.admit is not None
    backend.clock = _broken_clock
    try:
        if on_error == "allow":
            await throttle.hit(make_request())
        else:
            with pytest.raises(ConnectionThrottled):
                await throttle.hit(make_request())
    finally:
        reset_failure_counts()


async def test_a_quiet_lane_logs_its_backends_recovery(
    registry: Any, make_request: Any, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    backend = InMemoryBackend(clock=clock, cleanup_frequency=None)
    throttle = HTTPThrottle("t", rate="5/min", backend=backend, registry=registry, on_error="allow")
    await throttle.hit(make_request())
    backend.clock = _broken_clock
    try:
        await throttle.hit(make_request())  # fails, allowed
        backend.clock = clock
        with caplog.at_level(logging.INFO, logger="traffik"):
            await throttle.hit(make_request())  # the admitter would take it: the recovery is logged first
    finally:
        reset_failure_counts()
    assert [message for message in caplog.messages if "recovered" in message]


async def test_a_lane_with_headers_or_a_bound_backend_has_no_admitter(
    registry: Any, make_request: Any, clock: Any
) -> None:
    with_headers = HTTPThrottle(
        "h",
        rate="5/min",
        backend=InMemoryBackend(clock=clock, cleanup_frequency=None),
        registry=registry,
        headers=DEFAULT_HEADERS_ALWAYS,
    )
    bounded = HTTPThrottle(
        "b", rate="5/min", backend=InMemoryBackend(clock=clock, cleanup_frequency=None, max_keys=10), registry=registry
    )
    for throttle in (with_headers, bounded):
        await throttle.hit(make_request())
        lane = throttle._lane
        assert lane is not None
        assert lane.step is not None
        assert lane.admit is None
