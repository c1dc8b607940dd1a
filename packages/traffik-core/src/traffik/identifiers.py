"""Who a connection is: the default identifier and a proxy-aware one.

The default trusts nothing the client sends: it is the address of the TCP
peer. Behind a reverse proxy every request comes from the proxy, so
:class:`TrustedProxies` reads ``Forwarded`` / ``X-Forwarded-For``, but only
when the peer is one of the proxies you list, and walks the chain right to
left, stopping at the first address that is not a trusted proxy (entries left
of it were written by the client and may be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final, Union

from starlette.requests import HTTPConnection

from traffik.exceptions import ConfigurationError

__all__ = ["TrustedProxies", "UNKNOWN_ADDRESS", "get_remote_address"]

UNKNOWN_ADDRESS: Final = "unknown"
"""Identity used when the server does not report the peer (all such clients share one quota)."""

_Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


def get_remote_address(connection: HTTPConnection) -> str:
    """The peer's address (``connection.client.host``): the default identifier.

    Never reads proxy headers (any client could choose its own quota key);
    use :class:`TrustedProxies` behind a reverse proxy.

    Example:
        >>> from starlette.requests import Request
        >>> get_remote_address(Request({"type": "http", "client": ("203.0.113.7", 5000)}))
        '203.0.113.7'
    """
    client = connection.scope.get("client")
    if not client:
        return UNKNOWN_ADDRESS
    return str(client[0])


def _parse_networks(proxies: Iterable[str]) -> tuple[_Network, ...]:
    if isinstance(proxies, str):
        proxies = (proxies,)
    networks: list[_Network] = []
    for proxy in proxies:
        try:
            networks.append(ipaddress.ip_network(proxy, strict=False))
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"TrustedProxies: trusted_proxies must be IP addresses or networks (CIDR), got {proxy!r}"
            ) from None
    return tuple(networks)


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


class TrustedProxies:
    """An identifier that honours proxy headers from trusted proxies only.

    Args:
        trusted_proxies: Addresses or networks (``"10.0.0.0/8"``) of your proxies.
        header: ``"forwarded"`` (RFC 7239), ``"x-forwarded-for"``, or ``"auto"``
            (``Forwarded`` if present, else ``X-Forwarded-For``).

    Raises:
        ConfigurationError: An entry that is not an address/network, or an unknown header mode.

    Example:
        >>> from starlette.requests import Request
        >>> identify = TrustedProxies(["10.0.0.0/8"])
        >>> scope = {"type": "http", "client": ("10.0.0.2", 1),
        ...          "headers": [(b"x-forwarded-for", b"1.2.3.4, 198.51.100.9, 10.0.0.5")]}
        >>> identify(Request(scope))
        '198.51.100.9'
    """

    __slots__ = ("_header", "_networks")

    def __init__(self, trusted_proxies: Iterable[str], header: str = "auto") -> None:
        self._networks = _parse_networks(trusted_proxies)
        if header not in ("auto", "forwarded", "x-forwarded-for"):
            raise ConfigurationError(
                f"TrustedProxies: header must be 'auto', 'forwarded' or 'x-forwarded-for', got {header!r}"
            )
        self._header = header

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` belongs to a trusted proxy."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def _chain(self, connection: HTTPConnection) -> list[str]:
        headers = connection.headers
        if self._header != "x-forwarded-for":
            values = headers.getlist("forwarded")
            if values:
                return _forwarded_chain(",".join(values))
            if self._header == "forwarded":
                return []
        return [_strip_node(part) for part in ",".join(headers.getlist("x-forwarded-for")).split(",") if part.strip()]

    def __call__(self, connection: HTTPConnection) -> str:
        """The client's address: the right-most hop that is not a trusted proxy."""
        peer = get_remote_address(connection)
        if not self.is_trusted(peer):
            return peer
        address = peer
        for hop in reversed(self._chain(connection)):
            address = hop
            if not self.is_trusted(hop):
                return hop
        # Every hop is a trusted proxy: the left-most one is as close to the client as we can know.
        return address

    def __repr__(self) -> str:
        return f"TrustedProxies({[str(n) for n in self._networks]!r}, header={self._header!r})"
