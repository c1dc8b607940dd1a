"""Memcached keys and expiry times: what the protocol accepts, built deterministically.

Memcached keys are at most 250 bytes with no whitespace or control
characters. A logical key (namespace + strategy + throttle key, escaped so
that no two distinct tuples join to the same string) is stored as is when it
fits those rules, and as a BLAKE2b digest otherwise. The two forms start with
different markers, so a stored-as-is key can never equal a digest key.

Every key also carries the namespace's *generation*: :meth:`MemcachedBackend.clear`
bumps it, which orphans every key of the old generation at once (they expire
on their own TTL) without listing keys and without ``flush_all``.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Final

from traffik.clock import wall_ms
from traffik.keys import build_key

__all__ = [
    "MAX_KEY_BYTES",
    "RELATIVE_EXPIRY_LIMIT_S",
    "expiry_seconds",
    "generation_key",
    "is_storable",
    "state_key",
]

MAX_KEY_BYTES: Final = 250
"""Longest key memcached accepts."""

RELATIVE_EXPIRY_LIMIT_S: Final = 30 * 24 * 3600
"""Memcached reads an expiry above 30 days as an absolute Unix timestamp."""

# Memcached's clock ticks once a second, so an item can expire up to a second
# before its nominal TTL; one spare second keeps a state alive for as long as
# it matters (a state read after its own expiry time is treated as absent).
_EXPIRY_MARGIN_S: Final = 1

_PREFIX: Final = "trf:"
_RAW_MARKER: Final = "k"
_DIGEST_MARKER: Final = "h"
_GENERATION_MARKER: Final = "g:"
_GENERATION_DIGEST_MARKER: Final = "G:"


def is_storable(key: str) -> bool:
    """Whether ``key`` is a valid memcached key as is: printable ASCII, no space, 1 to 250 bytes.

    Example:
        >>> is_storable("api:GET:/items"), is_storable("has space"), is_storable("x" * 251)
        (True, False, False)
    """
    return 0 < len(key) <= MAX_KEY_BYTES and key.isascii() and key.isprintable() and " " not in key


def _digest(text: str) -> str:
    # surrogatepass: an identifier may hold lone surrogates (from a decoded
    # header, say); they must hash, not crash.
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=24).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def _fit(marker: str, generation: int, logical: str) -> str:
    candidate = f"{_PREFIX}{marker}{generation}:{logical}"
    if is_storable(candidate):
        return candidate
    return f"{_PREFIX}{_DIGEST_MARKER}{generation}:{_digest(logical)}"


def state_key(namespace: str, generation: int, *parts: str) -> str:
    """The memcached key of ``parts`` in ``namespace`` at ``generation``.

    Distinct ``(namespace, parts)`` give distinct keys, whatever characters
    they hold (escaped join, then a digest when the result is not storable).

    Example:
        >>> state_key("api", 7, "fixed-window", "client:1")
        'trf:k7:api:fixed-window:client\\\\:1'
        >>> state_key("api", 7, "fixed-window", "a b").startswith("trf:h7:")
        True
    """
    return _fit(_RAW_MARKER, generation, build_key(namespace, *parts))


def generation_key(namespace: str) -> str:
    """The key holding ``namespace``'s generation number (never part of a generation itself).

    Example:
        >>> generation_key("api")
        'trf:g:api'
    """
    candidate = f"{_PREFIX}{_GENERATION_MARKER}{build_key(namespace)}"
    if is_storable(candidate):
        return candidate
    return f"{_PREFIX}{_GENERATION_DIGEST_MARKER}{_digest(namespace)}"


def expiry_seconds(ttl_ms: float) -> int:
    """A memcached expiry for an item that must live ``ttl_ms`` milliseconds.

    Rounded up to whole seconds plus one spare second, never ``0`` (which
    memcached reads as "never expires"); beyond 30 days it becomes the absolute
    Unix time memcached expects there.

    Example:
        >>> expiry_seconds(1), expiry_seconds(1_000), expiry_seconds(60_000)
        (2, 2, 61)
    """
    seconds = max(1, math.ceil(ttl_ms / 1000.0)) + _EXPIRY_MARGIN_S
    if seconds <= RELATIVE_EXPIRY_LIMIT_S:
        return seconds
    return math.ceil(wall_ms() / 1000.0) + seconds
