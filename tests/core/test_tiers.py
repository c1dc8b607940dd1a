"""``Tiers``: one server-side lookup gives identity and tier; the tier gives the rate."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from traffik import EXEMPTED
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.rates import Rate
from traffik.registry import ThrottleRegistry
from traffik.throttles import HTTPThrottle
from traffik.tiers import Tiers
from traffik.types import Exempted

# The server's records: API key -> (account id, plan). Clients never choose the plan.
ACCOUNTS = {"key-free": ("acct-free", "free"), "key-pro": ("acct-pro", "pro"), "key-ops": ("acct-ops", "internal")}
RATES = {"anonymous": "1/h", "free": "2/h", "pro": "5/h"}


def request(api_key: str | None = None, plan_header: str | None = None, path: str = "/") -> Request:
    headers = []
    if api_key is not None:
        headers.append((b"x-api-key", api_key.encode()))
    if plan_header is not None:
        headers.append((b"x-plan", plan_header.encode()))  # what an attacker would send
    return Request({"type": "http", "method": "GET", "path": path, "headers": headers, "client": ("192.0.2.9", 1)})


class Lookup:
    """A lookup that counts its calls: the lookup is a database query, it must run once per request."""

    def __init__(self, *, is_async: bool) -> None:
        self.calls = 0
        self.is_async = is_async

    def find(self, connection: Request) -> tuple[str, str] | Exempted:
        self.calls += 1
        account = ACCOUNTS.get(connection.headers.get("x-api-key", ""))
        if account is None:
            return (f"ip:{connection.client.host if connection.client else 'unknown'}", "anonymous")
        if account[1] == "internal":
            return EXEMPTED
        return account

    def __call__(self, connection: Request) -> Any:
        if not self.is_async:
            return self.find(connection)

        async def found() -> tuple[str, str] | Exempted:
            return self.find(connection)

        return found()


@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend(clock=ManualClock(3_600_000.0), cleanup_frequency=None)


def throttle_for(tiers: Tiers, backend: InMemoryBackend, uid: str = "api") -> HTTPThrottle:
    return HTTPThrottle(uid, rate=tiers.rate, identifier=tiers.identifier, backend=backend, registry=ThrottleRegistry())


async def admitted_count(throttle: HTTPThrottle, make: Any, attempts: int = 8) -> int:
    admitted = 0
    for _ in range(attempts):
        try:
            await throttle.hit(make())
        except ConnectionThrottled:
            continue
        admitted += 1
    return admitted


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-lookup", "async-lookup"])
async def test_each_tier_gets_its_rate(is_async: bool, backend: InMemoryBackend) -> None:
    throttle = throttle_for(Tiers(Lookup(is_async=is_async), RATES), backend)
    assert await admitted_count(throttle, lambda: request("key-free")) == 2
    assert await admitted_count(throttle, lambda: request("key-pro")) == 5
    assert await admitted_count(throttle, lambda: request()) == 1  # no key: the anonymous tier, by address
    assert await admitted_count(throttle, lambda: request("key-ops")) == 8  # EXEMPTED: never throttled


async def test_a_client_sent_plan_header_changes_nothing(backend: InMemoryBackend) -> None:
    throttle = throttle_for(Tiers(Lookup(is_async=True), RATES), backend)
    assert await admitted_count(throttle, lambda: request("key-free", plan_header="pro")) == 2
    assert await admitted_count(throttle, lambda: request("forged", plan_header="pro")) == 1


async def test_the_lookup_runs_once_per_request(backend: InMemoryBackend) -> None:
    lookup = Lookup(is_async=True)
    tiers = Tiers(lookup, RATES)
    burst, hourly = throttle_for(tiers, backend, "burst"), throttle_for(tiers, backend, "hourly")
    connection = request("key-pro")
    await burst.hit(connection)
    await hourly.hit(connection)
    assert await burst.check(connection)
    stat = await hourly.stat(connection)
    assert stat is not None
    assert stat.rate == Rate.parse("5/h")
    assert stat.hits_remaining == 4
    assert lookup.calls == 1  # identity and rate, two throttles, hit/check/stat: one lookup
    await burst.hit(request("key-pro"))
    assert lookup.calls == 2  # a new request looks up again


async def test_the_key_is_the_identity_not_the_secret(backend: InMemoryBackend) -> None:
    throttle = throttle_for(Tiers(Lookup(is_async=False), RATES), backend)
    stat = await throttle.stat(request("key-pro"))
    assert stat is not None
    assert "acct-pro" in str(stat.key)
    assert "key-pro" not in str(stat.key)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("acct-1", r"must return an \(identity, tier\) pair of strings or EXEMPTED, got 'acct-1'"),
        (("acct-1", 3), r"got \('acct-1', 3\)"),
        (("", "free"), r"got \('', 'free'\)"),
        (None, "got None"),
        (("acct-1", "gold"), r"returned tier 'gold', which rates does not list \(tiers: \['anonymous', 'free'"),
    ],
    ids=["not-a-pair", "tier-not-str", "empty-identity", "none", "unknown-tier"],
)
async def test_a_bad_lookup_answer_is_named(answer: Any, message: str, backend: InMemoryBackend) -> None:
    def bad_lookup(connection: Request) -> Any:
        return answer

    throttle = throttle_for(Tiers(bad_lookup, RATES), backend)
    with pytest.raises(ConfigurationError, match=r"Tiers: .*" + message):
        await throttle.hit(request())


@pytest.mark.parametrize(
    ("lookup", "rates", "message"),
    [
        ("not callable", RATES, r"Tiers: lookup must be callable, got 'not callable'"),
        (Lookup(is_async=False), {}, r"Tiers: rates must be a non-empty mapping \{tier: rate\}, got \{\}"),
        (Lookup(is_async=False), ["1/s"], r"Tiers: rates must be a non-empty mapping .*got \['1/s'\]"),
        (Lookup(is_async=False), {"free": "1.5/s"}, r"Tiers: rates\['free'\] is an invalid rate '1.5/s'"),
        (Lookup(is_async=False), {"free": 10}, r"Tiers: rates\['free'\] must be a rate string or a Rate, got 10"),
        (Lookup(is_async=False), {1: "1/s"}, r"Tiers: rates must be keyed by non-empty tier names \(str\), got 1"),
    ],
    ids=["lookup", "empty-rates", "not-a-mapping", "bad-rate", "rate-type", "tier-type"],
)
def test_invalid_configuration_fails_at_construction(lookup: Any, rates: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Tiers(lookup, rates)


def test_rates_are_parsed_once_and_read_only() -> None:
    tiers = Tiers(Lookup(is_async=False), {"free": "2/h", "pro": Rate.parse("5/h")})
    assert dict(tiers.rates) == {"free": Rate.parse("2/h"), "pro": Rate.parse("5/h")}
    with pytest.raises(TypeError):
        tiers.rates["free"] = Rate.parse("9/h")  # type: ignore[index]  # read-only on purpose
