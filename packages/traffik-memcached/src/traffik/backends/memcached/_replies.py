"""Memcached's replies parsed from a buffer, for the pipelined lane (:mod:`._pipeline`).

Each parser reads one reply starting at ``pos`` and returns it with the position
of the next one, or ``None`` while the reply is not all there (the lane waits
for more bytes). An error reply is returned, not raised, as a
:class:`~traffik.backends.memcached._client.ProtocolError`, so that the lane
decides what it means for the connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from traffik.backends.memcached._client import (
    ProtocolError,
    read_counter,
    read_deleted,
    read_stats,
    read_stored,
    read_value,
    read_version,
)

__all__ = [
    "PARSERS",
    "Parsed",
    "Parser",
    "parse_counter",
    "parse_deleted",
    "parse_stats",
    "parse_stored",
    "parse_value",
    "parse_version",
]

Parsed = tuple[object, int] | None
"""A parser's answer: the reply (a value, or the exception to raise) and where the next one starts; ``None``: not
all there yet."""

Parser = Callable[[bytearray, int], Parsed]

_END: Final = b"END"


def _line(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    return bytes(buf[pos:end]), end + 2


def _error(line: bytes) -> ProtocolError | None:
    if line.startswith((b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")):
        return ProtocolError(line.decode("ascii", "replace"))
    return None


def parse_counter(buf: bytearray, pos: int) -> Parsed:
    """``incr``/``decr``: the new value, or ``None`` for ``NOT_FOUND``."""
    found = _line(buf, pos)
    if found is None:
        return None
    line, nxt = found
    if line.isdigit():
        return int(line), nxt
    if line == b"NOT_FOUND":
        return None, nxt
    digits = line.strip()
    if digits.isdigit():  # old servers pad the value with spaces after a decr
        return int(digits), nxt
    return _error(line) or ProtocolError(f"unexpected reply to incr/decr: {line!r}"), nxt


def parse_stored(buf: bytearray, pos: int) -> Parsed:
    """``add``/``set``/``cas``: ``True`` if stored."""
    found = _line(buf, pos)
    if found is None:
        return None
    line, nxt = found
    if line == b"STORED":
        return True, nxt
    if line in (b"NOT_STORED", b"EXISTS", b"NOT_FOUND"):
        return False, nxt
    return _error(line) or ProtocolError(f"unexpected reply to a storage command: {line!r}"), nxt


def parse_value(buf: bytearray, pos: int) -> Parsed:
    """``get``/``gets``: ``(value, cas token)``, or ``(None, None)``."""
    found = _line(buf, pos)
    if found is None:
        return None
    line, nxt = found
    if line == _END:
        return (None, None), nxt
    terms = line.split()
    if len(terms) < 4 or terms[0] != b"VALUE":
        return _error(line) or ProtocolError(f"unexpected reply to get: {line!r}"), nxt
    data_end = nxt + int(terms[3])
    if len(buf) < data_end + 7:  # the data, its \r\n and END\r\n
        return None
    if buf[data_end : data_end + 7] != b"\r\nEND\r\n":
        return ProtocolError("more than one value for one key"), data_end + 2
    token = int(terms[4]) if len(terms) > 4 else None
    return (bytes(buf[nxt:data_end]), token), data_end + 7


def parse_deleted(buf: bytearray, pos: int) -> Parsed:
    """``delete``: ``True`` if the key existed."""
    found = _line(buf, pos)
    if found is None:
        return None
    line, nxt = found
    if line in (b"DELETED", b"NOT_FOUND"):
        return line == b"DELETED", nxt
    return _error(line) or ProtocolError(f"unexpected reply to delete: {line!r}"), nxt


def parse_stats(buf: bytearray, pos: int) -> Parsed:
    """``stats``: name to value."""
    stats: dict[str, str] = {}
    while (found := _line(buf, pos)) is not None:
        line, pos = found
        if line == _END:
            return stats, pos
        if (error := _error(line)) is not None:
            return error, pos
        _, name, value = line.decode("ascii", "replace").split(" ", 2)
        stats[name] = value
    return None


def parse_version(buf: bytearray, pos: int) -> Parsed:
    """``version``: the version string."""
    found = _line(buf, pos)
    if found is None:
        return None
    line, nxt = found
    if line.startswith(b"VERSION "):
        return line[8:].decode("ascii", "replace"), nxt
    return _error(line) or ProtocolError(f"unexpected reply to version: {line!r}"), nxt


PARSERS: Final[dict[Callable[..., Awaitable[Any]], Parser]] = {
    read_counter: parse_counter,
    read_stored: parse_stored,
    read_value: parse_value,
    read_deleted: parse_deleted,
    read_stats: parse_stats,
    read_version: parse_version,
}
"""The pooled path's reply reader -> the lane's parser of the same reply."""
