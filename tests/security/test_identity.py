"""Identity attacks: a client that picks its own quota key.

Behind a proxy the identity comes from a header, and a header the proxy passes
through unchanged is the client's to write. An address has several spellings
(``::ffff:1.2.3.4`` is ``1.2.3.4``), and an IPv6 client owns a whole /64.
Each test counts how many of a client's requests get through: a client that
picks its own identity would get all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

import pytest
from starlette.requests import HTTPConnection, Request
from traffik import HTTPThrottle
from traffik.backends.base import ThrottleBackend
from traffik.exceptions import ConfigurationError, ConnectionThrottled
from traffik.identifiers import TrustedProxies, get_remote_address, remote_address
from traffik.registry import ThrottleRegistry

LIMIT = 5
ATTEMPTS = 10
PROXY = "10.0.0.1"
CLIENT = "198.51.100.7"
OTHER_CLIENT = "198.51.100.8"
# An hour-long window: a fixed window on the real clock must not roll over mid-test.
RATE = f"{LIMIT}/hour"

Headers = list[tuple[bytes, bytes]]
Identifier = Callable[[HTTPConnection], str]


def request(peer: str, headers: Headers | None = None) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers or [], "client": (peer, 1)})


def make_throttle(backend: ThrottleBackend, identifier: Identifier) -> HTTPThrottle:
    return HTTPThrottle(
        "identity",
        rate=RATE,
        backend=backend,
        identifier=identifier,
        on_error="raise",  # a backend error must fail the test, not be hidden by a policy
        registry=ThrottleRegistry(),
    )


async def admitted(throttle: HTTPThrottle, requests: Iterable[Request]) -> int:
    count = 0
    for each in requests:
        try:
            await throttle.hit(each)
        except ConnectionThrottled:
            continue
        count += 1
    return count


def through_nginx(client_sent: Headers, client: str = CLIENT) -> Request:
    """What nginx (``proxy_add_x_forwarded_for``) or AWS ALB forwards: the client's headers, plus one XFF hop."""
    xff = [value for name, value in client_sent if name == b"x-forwarded-for"]
    chain = b", ".join([*xff, client.encode()])
    passed_through = [(name, value) for name, value in client_sent if name != b"x-forwarded-for"]
    return request(PROXY, [*passed_through, (b"x-forwarded-for", chain)])


# -- item: the proxy appends to X-Forwarded-For and passes the client's Forwarded through ---------------


async def test_a_forwarded_header_the_proxy_passes_through_cannot_pick_the_identity(
    backend: ThrottleBackend,
) -> None:
    throttle = make_throttle(backend, TrustedProxies(["10.0.0.0/8"]))
    spoofed = (through_nginx([(b"forwarded", f"for=_{n}".encode())]) for n in range(ATTEMPTS))
    assert await admitted(throttle, spoofed) == LIMIT


async def test_a_forged_x_forwarded_for_prefix_cannot_pick_the_identity(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend, TrustedProxies(["10.0.0.0/8"]))
    spoofed = (through_nginx([(b"x-forwarded-for", f"203.0.113.{n}, 10.0.0.{n}".encode())]) for n in range(ATTEMPTS))
    assert await admitted(throttle, spoofed) == LIMIT


@pytest.mark.parametrize(
    ("header", "written", "ignored"),
    [
        ("x-forwarded-for", (b"x-forwarded-for", CLIENT.encode()), (b"forwarded", b"for=203.0.113.9")),
        ("forwarded", (b"forwarded", f"for={CLIENT};proto=https".encode()), (b"x-forwarded-for", b"203.0.113.9")),
        ("cf-connecting-ip", (b"cf-connecting-ip", CLIENT.encode()), (b"x-forwarded-for", b"203.0.113.9")),
    ],
    ids=["x-forwarded-for", "forwarded", "cf-connecting-ip"],
)
def test_only_the_header_the_operator_names_is_read(
    header: str, written: tuple[bytes, bytes], ignored: tuple[bytes, bytes]
) -> None:
    identify = TrustedProxies(["10.0.0.0/8"], header=header)
    assert identify(request(PROXY, [ignored, written])) == CLIENT
    assert identify(request(PROXY, [written, ignored])) == CLIENT
    assert identify(request(PROXY, [ignored])) == PROXY  # the named header is missing: the proxy itself


def test_the_default_header_is_x_forwarded_for_only() -> None:
    identify = TrustedProxies(["10.0.0.0/8"])
    both = request(PROXY, [(b"forwarded", b"for=203.0.113.9"), (b"x-forwarded-for", CLIENT.encode())])
    assert identify(both) == CLIENT


@pytest.mark.parametrize("header", ["auto", "", "x forwarded", "x-forwarded-for:"])
def test_auto_and_malformed_header_names_are_refused(header: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"TrustedProxies: header.*{header!r}"):
        TrustedProxies(["10.0.0.0/8"], header=header)


# -- item: proxies and clients seen as IPv4-mapped IPv6 ---------------------------------------------------


async def test_a_proxy_seen_as_an_ipv4_mapped_address_is_still_trusted(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend, TrustedProxies(["10.0.0.0/8"]))
    mapped_proxy = f"::ffff:{PROXY}"
    spent = [request(mapped_proxy, [(b"x-forwarded-for", CLIENT.encode())]) for _ in range(LIMIT)]
    assert await admitted(throttle, spent) == LIMIT
    # Another client behind the same proxy has its own quota, not the proxy's spent one.
    assert await admitted(throttle, [request(mapped_proxy, [(b"x-forwarded-for", OTHER_CLIENT.encode())])]) == 1


def test_mapped_trusted_proxies_in_the_configuration_match_plain_ipv4_peers() -> None:
    identify = TrustedProxies([f"::ffff:{PROXY}", "::ffff:10.1.0.0/112"])
    assert identify.is_trusted(PROXY)
    assert identify.is_trusted("10.1.2.3")
    assert not identify.is_trusted("10.2.0.1")


@pytest.mark.parametrize(
    "identifier",
    [get_remote_address, remote_address(), TrustedProxies(["10.0.0.0/8"])],
    ids=["get_remote_address", "remote_address", "TrustedProxies-direct"],
)
async def test_the_mapped_and_plain_forms_of_a_peer_are_one_client(
    backend: ThrottleBackend, identifier: Identifier
) -> None:
    throttle = make_throttle(backend, identifier)
    forms = itertools.cycle([CLIENT, f"::ffff:{CLIENT}", f"::FFFF:{CLIENT}", f"0:0:0:0:0:ffff:{CLIENT}"])
    assert await admitted(throttle, (request(next(forms)) for _ in range(ATTEMPTS))) == LIMIT


async def test_the_mapped_and_plain_forms_of_a_forwarded_hop_are_one_client(backend: ThrottleBackend) -> None:
    throttle = make_throttle(backend, TrustedProxies(["10.0.0.0/8"]))
    forms = itertools.cycle([CLIENT, f"::ffff:{CLIENT}", f"[::ffff:{CLIENT}]:443"])
    spoofed = (request(PROXY, [(b"x-forwarded-for", next(forms).encode())]) for _ in range(ATTEMPTS))
    assert await admitted(throttle, spoofed) == LIMIT


def test_ipv6_spellings_of_one_address_are_one_identity() -> None:
    spellings = ["2001:db8::1", "2001:DB8::1", "2001:0db8:0000::0001", "2001:db8:0:0:0:0:0:1"]
    assert {get_remote_address(request(address)) for address in spellings} == {"2001:db8::1"}
    identify = TrustedProxies(["10.0.0.0/8"])
    hops = {identify(request(PROXY, [(b"x-forwarded-for", address.encode())])) for address in spellings}
    assert hops == {"2001:db8::1"}


# -- item: a client rotating through its IPv6 /64 ------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [remote_address(ipv6_prefix=64), TrustedProxies(["10.0.0.0/8"], ipv6_prefix=64)],
    ids=["remote_address", "TrustedProxies"],
)
async def test_an_ipv6_prefix_option_keys_a_rotating_client_by_its_prefix(
    backend: ThrottleBackend, identifier: Identifier
) -> None:
    throttle = make_throttle(backend, identifier)

    def from_address(address: str) -> Request:
        if isinstance(identifier, TrustedProxies):
            return request(PROXY, [(b"x-forwarded-for", address.encode())])
        return request(address)

    rotating = (from_address(f"2001:db8:1:2::{n:x}") for n in range(1, ATTEMPTS + 1))
    assert await admitted(throttle, rotating) == LIMIT
    # Another /64 is another client; IPv4 clients are unaffected by the prefix.
    assert await admitted(throttle, [from_address("2001:db8:1:3::1")]) == 1
    assert await admitted(throttle, (from_address(CLIENT) for _ in range(ATTEMPTS))) == LIMIT


def test_without_the_prefix_option_every_ipv6_address_is_its_own_client() -> None:
    assert get_remote_address(request("2001:db8:1:2::1")) != get_remote_address(request("2001:db8:1:2::2"))
    assert remote_address()(request("2001:db8:1:2::1")) == "2001:db8:1:2::1"
    assert remote_address(ipv6_prefix=64)(request("2001:db8:1:2::1")) == "2001:db8:1:2::/64"
    assert remote_address(ipv6_prefix=56)(request("2001:db8:1:2ff::1")) == "2001:db8:1:200::/56"


@pytest.mark.parametrize("prefix", [0, 129, -1, True, 64.0, "64"])
def test_an_invalid_ipv6_prefix_is_refused(prefix: object) -> None:
    with pytest.raises(ConfigurationError, match=rf"remote_address: ipv6_prefix.*{prefix!r}"):
        remote_address(ipv6_prefix=prefix)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=rf"TrustedProxies: ipv6_prefix.*{prefix!r}"):
        TrustedProxies(["10.0.0.0/8"], ipv6_prefix=prefix)  # type: ignore[arg-type]
