"""get_remote_address never trusts proxy headers; TrustedProxies walks them right to left."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from traffik import get_remote_address
from traffik.exceptions import ConfigurationError
from traffik.identifiers import UNKNOWN_ADDRESS, TrustedProxies, remote_address


def request(peer: str | None, **headers: str) -> Request:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": raw}
    if peer is not None:
        scope["client"] = (peer, 5555)
    return Request(scope)


def test_remote_address_is_the_peer() -> None:
    assert get_remote_address(request("198.51.100.7")) == "198.51.100.7"


def test_remote_address_ignores_forwarding_headers() -> None:
    spoofed = request("198.51.100.7", x_forwarded_for="1.1.1.1", forwarded="for=2.2.2.2")
    assert get_remote_address(spoofed) == "198.51.100.7"


def test_no_peer() -> None:
    assert get_remote_address(request(None)) == UNKNOWN_ADDRESS


def test_untrusted_peer_headers_are_ignored() -> None:
    identify = TrustedProxies(["10.0.0.0/8"])
    assert identify(request("198.51.100.7", x_forwarded_for="1.1.1.1")) == "198.51.100.7"


def test_x_forwarded_for_walked_right_to_left() -> None:
    identify = TrustedProxies(["10.0.0.0/8", "192.0.2.1"])
    # The client forged "6.6.6.6"; 203.0.113.5 is the first hop no trusted proxy vouches beyond.
    forged = request("10.0.0.1", x_forwarded_for="6.6.6.6, 203.0.113.5, 192.0.2.1, 10.1.1.1")
    assert identify(forged) == "203.0.113.5"


def test_forwarded_header_with_ports_and_ipv6() -> None:
    identify = TrustedProxies(["10.0.0.1"], header="forwarded")
    value = 'for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711"'
    assert identify(request("10.0.0.1", forwarded=value)) == "2001:db8:cafe::17"
    assert identify(request("10.0.0.1", forwarded="for=192.0.2.43:47011")) == "192.0.2.43"


def test_only_the_named_header_is_read() -> None:
    both = request("10.0.0.1", forwarded="for=192.0.2.1", x_forwarded_for="192.0.2.2")
    assert TrustedProxies(["10.0.0.1"])(both) == "192.0.2.2"  # the default: X-Forwarded-For only
    assert TrustedProxies(["10.0.0.1"], header="X-Forwarded-For")(both) == "192.0.2.2"
    assert TrustedProxies(["10.0.0.1"], header="forwarded")(both) == "192.0.2.1"
    only_xff = request("10.0.0.1", x_forwarded_for="192.0.2.2")
    assert TrustedProxies(["10.0.0.1"], header="forwarded")(only_xff) == "10.0.0.1"


def test_a_single_address_header() -> None:
    identify = TrustedProxies(["10.0.0.1"], header="cf-connecting-ip")
    assert identify(request("10.0.0.1", cf_connecting_ip="192.0.2.3", x_forwarded_for="6.6.6.6")) == "192.0.2.3"
    assert identify(request("198.51.100.7", cf_connecting_ip="192.0.2.3")) == "198.51.100.7"


def test_addresses_are_canonical() -> None:
    assert get_remote_address(request("::FFFF:192.0.2.1")) == "192.0.2.1"
    assert get_remote_address(request("2001:DB8:0::1")) == "2001:db8::1"
    assert get_remote_address(request("testclient")) == "testclient"
    identify = TrustedProxies(["10.0.0.0/8"])
    assert identify(request("::ffff:10.0.0.1", x_forwarded_for="::ffff:192.0.2.1")) == "192.0.2.1"
    assert identify(request("10.0.0.1", x_forwarded_for="not-an-address")) == "not-an-address"


def test_repr() -> None:
    assert repr(TrustedProxies(["10.0.0.0/8"])) == "TrustedProxies(['10.0.0.0/8'], header='x-forwarded-for')"
    assert repr(TrustedProxies("::1", "forwarded", ipv6_prefix=64)) == (
        "TrustedProxies(['::1/128'], header='forwarded', ipv6_prefix=64)"
    )
    assert repr(remote_address(ipv6_prefix=48)) == "remote_address(ipv6_prefix=48)"
    assert remote_address() is get_remote_address


def test_all_hops_trusted_gives_the_leftmost() -> None:
    identify = TrustedProxies(["10.0.0.0/8"])
    assert identify(request("10.0.0.1", x_forwarded_for="10.0.0.3, 10.0.0.2")) == "10.0.0.3"
    assert identify(request("10.0.0.1")) == "10.0.0.1"


def test_invalid_configuration() -> None:
    with pytest.raises(ConfigurationError, match="'not-an-ip'"):
        TrustedProxies(["not-an-ip"])
    with pytest.raises(ConfigurationError, match="'auto'"):
        TrustedProxies(["10.0.0.1"], header="auto")
    with pytest.raises(ConfigurationError, match="'x real ip'"):
        TrustedProxies(["10.0.0.1"], header="x real ip")
    with pytest.raises(ConfigurationError, match=r"TrustedProxies: ipv6_prefix.*129"):
        TrustedProxies(["10.0.0.1"], ipv6_prefix=129)
    assert TrustedProxies("10.0.0.1").is_trusted("10.0.0.1")


def test_remote_address_with_a_prefix_on_odd_peers() -> None:
    identify = remote_address(ipv6_prefix=64)
    assert identify(request(None)) == UNKNOWN_ADDRESS
    assert identify(request("::ffff:192.0.2.1")) == "192.0.2.1"  # IPv4 clients are unaffected
    assert identify(request("/run/app.sock")) == "/run/app.sock"
    assert identify(request("not:an:address")) == "not:an:address"
    long_text = "f:" * 40
    assert identify(request(long_text)) == long_text
    assert not TrustedProxies(["::/0"]).is_trusted(long_text)
