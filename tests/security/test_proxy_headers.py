"""Proxy headers count only when the peer is a trusted proxy; a spoofed header never moves the bucket."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.exceptions import ConnectionThrottled
from traffik.identifiers import TrustedProxies, get_remote_address
from traffik.registry import ThrottleRegistry

PROXY = "10.0.0.2"
CLIENT = "198.51.100.7"
SPOOFS = [
    [(b"x-forwarded-for", b"203.0.113.99")],
    [(b"x-forwarded-for", b"203.0.113.99, 203.0.113.100")],
    [(b"forwarded", b"for=203.0.113.99")],
    [(b"forwarded", b'for="[2001:db8::1]:80"')],
    [(b"x-real-ip", b"203.0.113.99")],
    [(b"x-forwarded-for", b"garbage, ::::, \x00")],
    [(b"x-forwarded-for", b"10.0.0.3")],  # pretends to be another of our proxies
]


def request(peer: str, headers: list[tuple[bytes, bytes]] | None = None) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers or [], "client": (peer, 1)})


@pytest.mark.parametrize("headers", SPOOFS)
def test_the_default_identifier_ignores_every_proxy_header(headers: list[tuple[bytes, bytes]]) -> None:
    assert get_remote_address(request(CLIENT, headers)) == CLIENT


@pytest.mark.parametrize("headers", SPOOFS)
def test_headers_from_an_untrusted_peer_are_ignored(headers: list[tuple[bytes, bytes]]) -> None:
    identify = TrustedProxies(["10.0.0.0/8"])
    assert identify(request(CLIENT, headers)) == CLIENT


def test_a_trusted_proxy_is_believed_about_the_hop_before_it() -> None:
    identify = TrustedProxies(["10.0.0.0/8"])
    assert identify(request(PROXY, [(b"x-forwarded-for", CLIENT.encode())])) == CLIENT
    forwarded = TrustedProxies(["10.0.0.0/8"], header="forwarded")
    assert forwarded(request(PROXY, [(b"forwarded", f"for={CLIENT}".encode())])) == CLIENT


@pytest.mark.parametrize("header", ["x-forwarded-for", "forwarded"])
def test_a_header_the_operator_did_not_name_is_ignored_from_a_trusted_proxy(header: str) -> None:
    identify = TrustedProxies(["10.0.0.0/8"], header=header)
    other = b"forwarded" if header == "x-forwarded-for" else b"x-forwarded-for"
    spoof = b"for=203.0.113.99" if other == b"forwarded" else b"203.0.113.99"
    assert identify(request(PROXY, [(other, spoof)])) == PROXY


@pytest.mark.parametrize(
    "client_sent",
    ["203.0.113.99", "203.0.113.99, 203.0.113.100", "10.0.0.9", "unknown", ""],
    ids=["one", "two", "our-range", "unknown", "empty"],
)
def test_what_a_client_prepends_behind_a_trusted_proxy_cannot_change_its_address(client_sent: str) -> None:
    # The proxy appends the address it saw to whatever the client sent.
    identify = TrustedProxies(["10.0.0.0/8"])
    chain = f"{client_sent}, {CLIENT}" if client_sent else CLIENT
    assert identify(request(PROXY, [(b"x-forwarded-for", chain.encode())])) == CLIENT


async def test_a_spoofing_client_stays_in_its_own_bucket() -> None:
    throttle = HTTPThrottle(
        "spoof",
        rate="3/min",
        backend=InMemoryBackend(cleanup_frequency=None, clock=ManualClock(10_000.0)),
        identifier=TrustedProxies(["10.0.0.0/8"]),
        registry=ThrottleRegistry(),
    )
    for n in range(3):
        # Direct connections with a fresh fake header each time: one bucket (the peer's).
        await throttle.hit(request(CLIENT, [(b"x-forwarded-for", f"203.0.113.{n}".encode())]))
    with pytest.raises(ConnectionThrottled):
        await throttle.hit(request(CLIENT, [(b"x-forwarded-for", b"203.0.113.250")]))
    with pytest.raises(ConnectionThrottled):
        # Through the proxy, with a fake first hop: still the same client, still throttled.
        await throttle.hit(request(PROXY, [(b"x-forwarded-for", f"203.0.113.251, {CLIENT}".encode())]))
    # Another real client behind the proxy has its own quota.
    await throttle.hit(request(PROXY, [(b"x-forwarded-for", b"198.51.100.8")]))
