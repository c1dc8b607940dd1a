"""The state codec: a strategy state as bytes for a byte store, and back.

Re-exported by :mod:`traffik.backends.base` (the plugin API); import it from there.
"""

from __future__ import annotations

import math

from traffik.strategies import State

__all__ = ["decode_state", "encode_state"]


def encode_state(state: State) -> bytes:
    """Serialise a state for a byte store (exact: ``repr`` of a float round-trips).

    Example:
        >>> encode_state((1500.0, 2.0))
        b'1500.0,2.0'
    """
    return ",".join(map(repr, state)).encode("ascii")


def decode_state(raw: bytes | str) -> State:
    """Inverse of :func:`encode_state`.

    Raises:
        ValueError: ``raw`` is not a list of finite numbers (corrupt or foreign data;
            a caller treats it as no state).

    Example:
        >>> decode_state(b"1500.0,2.0")
        (1500.0, 2.0)
    """
    text = raw.decode("ascii") if isinstance(raw, bytes) else raw
    state = tuple(float(part) for part in text.split(","))
    # No strategy stores inf or nan; such a value is garbage that float() happened to accept.
    if not all(math.isfinite(value) for value in state):
        raise ValueError(f"not a state: {text[:64]!r}")
    return state
