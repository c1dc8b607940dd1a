"""Who a connection is: the default identifier and proxy-aware ones.

The default trusts nothing the client sends: it is the address of the TCP
peer. Behind a reverse proxy every request comes from the proxy, so
:class:`TrustedProxies` reads the one header the operator names (by default
``X-Forwarded-For``), but only when the peer is one of the proxies you list,
and walks the chain right to left, stopping at the first address that is not
a trusted proxy (entries left of it were written by the client and may be
forged).

Addresses are compared and returned in one canonical form: an IPv4-mapped
IPv6 address (``::ffff:192.0.2.1``) is its IPv4 address, and IPv6 is written
compressed in lower case, so one client never has two identities.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Final, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError

__all__ = ["TrustedProxies", "UNKNOWN_ADDRESS", "get_remote_address", "remote_address"]

UNKNOWN_ADDRESS: Final = "unknown"
"""Identity used when the server does not report the peer (all such clients share one quota)."""

_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
_Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# RFC 9110 "token": what a header name may be.
_HEADER_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# IPv4-mapped IPv6 addresses: ::ffff:0:0/96.
_MAPPED_PREFIX_LENGTH: Final = 96
# Parsed addresses are cached: a client sends the same address on every request.
_PARSE_CACHE_SIZE: Final = 4096
# Longer text is no address ("ffff:...:255.255.255.255%" and a scope id); it is never parsed nor cached.
_MAX_ADDRESS_LENGTH: Final = 64


def _parse(text: str) -> _Address | None:
    """``text`` as an address, an IPv4-mapped IPv6 address as IPv4; ``None`` if it is no address."""
    return None if len(text) > _MAX_ADDRESS_LENGTH else _parse_cached(text)


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> _Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _canonical_ipv6(text: str) -> str:
    # Cached too: writing an IPv6 address compressed costs microseconds.
    address = _parse(text)
    return text if address is None else str(address)


def _canonical(text: str) -> str:
    """One spelling per address; text that is not an IP address (a unix socket, ``"testclient"``) unchanged.

    Dotted IPv4 text has one spelling already (``ipaddress`` refuses leading
    zeros), so only text with a colon is parsed.
    """
    if ":" not in text or len(text) > _MAX_ADDRESS_LENGTH:
        return text
    return _canonical_ipv6(text)


def _check_prefix(ipv6_prefix: object, owner: str) -> int | None:
    if ipv6_prefix is None:
        return None
    if isinstance(ipv6_prefix, bool) or not isinstance(ipv6_prefix, int) or not 1 <= ipv6_prefix <= 128:
        raise ConfigurationError(f"{owner}: ipv6_prefix must be an int from 1 to 128 or None, got {ipv6_prefix!r}")
    return ipv6_prefix


def _identity(text: str, ipv6_prefix: int | None) -> str:
    """The identity of the client at ``text``: its canonical address, or its IPv6 network with a prefix."""
    if ":" not in text or len(text) > _MAX_ADDRESS_LENGTH:
        return text
    if ipv6_prefix is None:
        return _canonical_ipv6(text)
    return _ipv6_network(text, ipv6_prefix)


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _ipv6_network(text: str, ipv6_prefix: int) -> str:
    address = _parse(text)
    if address is None:
        return text
    if address.version == 4:
        return str(address)
    host_bits = 128 - ipv6_prefix
    return str(ipaddress.IPv6Network((int(address) >> host_bits << host_bits, ipv6_prefix)))


def get_remote_address(connection: HTTPConnection) -> str:
    """The peer's address (``connection.client.host``): the default identifier.

    Never reads proxy headers (any client could choose its own quota key);
    use :class:`TrustedProxies` behind a reverse proxy. An IPv4-mapped IPv6
    peer (``::ffff:203.0.113.7``) is returned as its IPv4 address, and IPv6
    in its compressed lower-case form, so one client has one identity.

    Example:
        >>> from starlette.requests import Request
        >>> get_remote_address(Request({"type": "http", "client": ("203.0.113.7", 5000)}))
        '203.0.113.7'
        >>> get_remote_address(Request({"type": "http", "client": ("::ffff:203.0.113.7", 5000)}))
        '203.0.113.7'
    """
    client = connection.scope.get("client")
    if not client:
        return UNKNOWN_ADDRESS
    return _canonical(str(client[0]))


class _RemoteAddress:
    """The peer's address, IPv6 peers keyed by their network (see :func:`remote_address`)."""

    __slots__ = ("ipv6_prefix",)

    def __init__(self, ipv6_prefix: int) -> None:
        self.ipv6_prefix = ipv6_prefix

    def __call__(self, connection: HTTPConnection) -> str:
        client = connection.scope.get("client")
        if not client:
            return UNKNOWN_ADDRESS
        return _identity(str(client[0]), self.ipv6_prefix)

    def __repr__(self) -> str:
        return f"remote_address(ipv6_prefix={self.ipv6_prefix!r})"


def remote_address(*, ipv6_prefix: int | None = None) -> Callable[[HTTPConnection], str]:
    """An identifier like :func:`get_remote_address` that can key IPv6 clients by their network.

    An IPv6 client usually owns a whole /64 (often a /56 or /48) and can
    send each request from a new address in it. With ``ipv6_prefix=64``
    every address of one /64 is one client, identified as
    ``"2001:db8:1:2::/64"``; IPv4 clients are unaffected.

    Args:
        ipv6_prefix: Prefix length (1 to 128) that identifies an IPv6 client;
            ``None`` (the default) keys each IPv6 address on its own, and
            returns :func:`get_remote_address` itself.

    Raises:
        ConfigurationError: ``ipv6_prefix`` is not an int from 1 to 128.

    Example:
        >>> from starlette.requests import Request
        >>> identify = remote_address(ipv6_prefix=64)
        >>> identify(Request({"type": "http", "client": ("2001:db8:1:2::beef", 5000)}))
        '2001:db8:1:2::/64'
    """
    prefix = _check_prefix(ipv6_prefix, "remote_address")
    if prefix is None:
        return get_remote_address
    return _RemoteAddress(prefix)


def _parse_networks(proxies: Iterable[str]) -> tuple[_Network, ...]:
    if isinstance(proxies, str):
        proxies = (proxies,)
    networks: list[_Network] = []
    for proxy in proxies:
        try:
            network = ipaddress.ip_network(proxy, strict=False)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"TrustedProxies: trusted_proxies must be IP addresses or networks (CIDR), got {proxy!r}"
            ) from None
        mapped = network.network_address.ipv4_mapped if isinstance(network, ipaddress.IPv6Network) else None
        if mapped is not None and network.prefixlen >= _MAPPED_PREFIX_LENGTH:
            # "::ffff:10.0.0.0/104" is 10.0.0.0/8: peers are compared in their IPv4 form.
            networks.append(ipaddress.IPv4Network((mapped, network.prefixlen - _MAPPED_PREFIX_LENGTH)))
        else:
            networks.append(network)
    return tuple(networks)


def _check_header(header: object) -> str:
    if header == "auto":
        raise ConfigurationError(
            "TrustedProxies: header must name the one header your proxy writes (e.g. 'x-forwarded-for' or "
            "'forwarded'); 'auto' read whichever was present, which lets a client send its own "
            f"through a proxy that writes the other, got {header!r}"
        )
    if not isinstance(header, str) or _HEADER_NAME.fullmatch(header) is None:
        raise ConfigurationError(
            f"TrustedProxies: header must be an HTTP header name such as 'x-forwarded-for', got {header!r}"
        )
    return header.lower()


def _strip_node(node: str) -> str:
    """An address from a ``Forwarded`` node or an ``X-Forwarded-For`` entry, without quotes or port."""
    node = node.strip().strip('"')
    if node.startswith("["):  # "[2001:db8::1]:4711"
        end = node.find("]")
        return node[1:end] if end > 0 else node
    if node.count(":") == 1:  # "192.0.2.43:47011"
        return node.split(":", 1)[0]
    return node


def _forwarded_chain(value: str) -> list[str]:
    """The ``for=`` addresses of a ``Forwarded`` header (RFC 7239), in order."""
    chain: list[str] = []
    for element in value.split(","):
        for pair in element.split(";"):
            name, _, node = pair.partition("=")
            if name.strip().lower() == "for":
                chain.append(_strip_node(node))
    return chain


def _list_chain(value: str) -> list[str]:
    """The addresses of an ``X-Forwarded-For``-style list (one address is a list of one), in order."""
    return [_strip_node(part) for part in value.split(",") if part.strip()]


class TrustedProxies:
    """An identifier that reads one proxy header, from trusted proxies only.

    Name the header your proxy *writes*: a proxy passes every other header
    through from the client unchanged, so reading one it does not write lets
    any client choose its own identity. nginx (``proxy_add_x_forwarded_for``),
    AWS ALB, Envoy, Traefik and Cloudflare append to ``X-Forwarded-For`` (the
    default); HAProxy with ``option forwarded`` writes ``Forwarded``.

    Args:
        trusted_proxies: Addresses or networks (``"10.0.0.0/8"``) of your proxies.
        header: The header your proxy writes: ``"x-forwarded-for"`` (default),
            ``"forwarded"`` (RFC 7239, its ``for=`` nodes), or any other
            header holding a comma-separated list of addresses, such as
            ``"cf-connecting-ip"``. Case-insensitive.
        ipv6_prefix: Key IPv6 clients by their network of this prefix length
            (1 to 128), e.g. ``64``; ``None`` keys each address on its own.

    Raises:
        ConfigurationError: An entry that is not an address/network, a header
            that is not a header name (or ``"auto"``), or an invalid prefix.

    Example:
        >>> from starlette.requests import Request
        >>> identify = TrustedProxies(["10.0.0.0/8"])
        >>> scope = {"type": "http", "client": ("10.0.0.2", 1),
        ...          "headers": [(b"x-forwarded-for", b"1.2.3.4, 198.51.100.9, 10.0.0.5")]}
        >>> identify(Request(scope))
        '198.51.100.9'
    """

    __slots__ = ("_chain_of", "_header", "_ipv6_prefix", "_networks")

    def __init__(
        self, trusted_proxies: Iterable[str], header: str = "x-forwarded-for", *, ipv6_prefix: int | None = None
    ) -> None:
        self._networks = _parse_networks(trusted_proxies)
        self._header = _check_header(header)
        self._chain_of: Callable[[str], list[str]] = _forwarded_chain if self._header == "forwarded" else _list_chain
        self._ipv6_prefix = _check_prefix(ipv6_prefix, "TrustedProxies")

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` belongs to a trusted proxy (IPv4-mapped IPv6 compared as IPv4)."""
        ip = _parse(address)
        if ip is None:
            return False
        return any(ip in network for network in self._networks)

    def __call__(self, connection: HTTPConnection) -> str:
        """The client's address: the right-most hop that is not a trusted proxy."""
        peer = get_remote_address(connection)
        if not self.is_trusted(peer):
            return _identity(peer, self._ipv6_prefix)
        address = peer
        values = connection.headers.getlist(self._header)
        if values:
            for hop in reversed(self._chain_of(",".join(values))):
                address = hop
                if not self.is_trusted(hop):
                    break
            # Every hop is a trusted proxy: the left-most one is as close to the client as we can know.
        return _identity(address, self._ipv6_prefix)

    def __repr__(self) -> str:
        prefix = f", ipv6_prefix={self._ipv6_prefix!r}" if self._ipv6_prefix is not None else ""
        return f"TrustedProxies({[str(n) for n in self._networks]!r}, header={self._header!r}{prefix})"
