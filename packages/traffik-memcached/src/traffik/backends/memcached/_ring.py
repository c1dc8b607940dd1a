"""Consistent hashing: which server owns a key.

Each server is placed on a 64-bit ring at ``virtual_nodes`` points (hashes of
``"host:port#i"``); a key belongs to the first point at or after its own hash.
Adding an n-th server therefore moves only about ``1/n`` of the keys (those
whose next point is now one of the newcomer's), and the mapping depends on
the server addresses only, never on their order, so every app instance agrees.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["HashRing"]

NodeT = TypeVar("NodeT")


def _point(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class HashRing(Generic[NodeT]):
    """Maps keys to nodes by consistent hashing.

    Args:
        nodes: ``(name, node)`` pairs; ``name`` (e.g. ``"host:port"``) decides
            the node's places on the ring and must be unique.
        virtual_nodes: Points per node; more points spread keys more evenly.

    Example:
        >>> ring = HashRing([("a:1", "A"), ("b:1", "B")], virtual_nodes=64)
        >>> ring.node_for(b"some-key") in ("A", "B")
        True
        >>> ring.node_for(b"some-key") == ring.node_for(b"some-key")
        True
    """

    __slots__ = ("_nodes", "_only", "_points")

    def __init__(self, nodes: Sequence[tuple[str, NodeT]], virtual_nodes: int = 160) -> None:
        if not nodes:
            raise ValueError("HashRing needs at least one node")
        if virtual_nodes < 1:
            raise ValueError(f"HashRing: virtual_nodes must be >= 1, got {virtual_nodes!r}")
        placed: list[tuple[int, str, NodeT]] = []
        for name, node in nodes:
            encoded = name.encode("utf-8")
            placed.extend((_point(encoded + b"#" + str(i).encode("ascii")), name, node) for i in range(virtual_nodes))
        # Ties (astronomically rare) are broken by name so the order of `nodes` never matters.
        placed.sort(key=lambda item: (item[0], item[1]))
        self._points = [point for point, _, _ in placed]
        self._nodes = [node for _, _, node in placed]
        # One server: no hashing on the hot path.
        self._only: tuple[NodeT] | None = (nodes[0][1],) if len(nodes) == 1 else None

    def node_for(self, key: bytes) -> NodeT:
        """The node that owns ``key``."""
        if self._only is not None:
            return self._only[0]
        index = bisect.bisect_left(self._points, _point(key))
        return self._nodes[index if index < len(self._nodes) else 0]
