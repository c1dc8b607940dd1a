"""Reading a batch of pipelined replies at once.

A pipelined lane (:mod:`traffik.backends.redis._pipelining`) often has dozens of
replies waiting in its socket's buffer. redis-py's ``read_response`` takes them
one at a time, each under a timer of its own and through several awaits: more
client time than the hit itself. The replies to the scripts are simple values
(a bulk string; an error such as ``NOSCRIPT`` or ``READONLY``), the same in
RESP2 and RESP3, so the lane reads whatever has arrived with one
``StreamReader.read`` and splits it here, without awaiting. A RESP3 push
message (``>``: client-side caching invalidations, maintenance notices) answers
no command, so it is skipped. Any other type is not parsed: the lane then fails
its hits, which never get a reply meant for another.
"""

from __future__ import annotations

from typing import Final, Union

__all__ = ["ErrorReply", "Reply", "UnexpectedReply", "split_replies"]

_BULK: Final = ord("$")
_ERROR: Final = ord("-")
_STATUS: Final = ord("+")
_INTEGER: Final = ord(":")
_PUSH: Final = ord(">")
_NULL: Final = ord("_")  # RESP3's nil (a counter's GET of a missing key)
_AGGREGATES: Final = frozenset(b"*>~%|")  # arrays, pushes, sets, maps, attributes: counted elements
_BLOBS: Final = frozenset(b"$!=")  # bulk strings, blob errors, verbatim strings: counted bytes


class ErrorReply(str):
    """The text of an error reply (``NOSCRIPT No matching script...``), to be raised as the client would."""

    __slots__ = ()


class UnexpectedReply(ValueError):
    """A reply of a type the scripts never return: the stream is not what the lane expects."""


Reply = Union[bytes, int, ErrorReply, None]


def split_replies(data: bytes, into: list[Reply]) -> int:
    """Append every complete reply at the start of ``data`` to ``into``; return how many bytes they took.

    Raises:
        UnexpectedReply: A reply is of a type the scripts never return.
    """
    position, size = 0, len(data)
    while position < size:
        end = data.find(b"\r\n", position)
        if end < 0:
            break
        kind = data[position]
        if kind == _BULK:
            length = int(data[position + 1 : end])
            if length < 0:
                into.append(None)
                position = end + 2
                continue
            after = end + 2 + length + 2
            if after > size:
                break
            into.append(data[end + 2 : end + 2 + length])
            position = after
        elif kind == _ERROR:
            into.append(ErrorReply(data[position + 1 : end].decode("utf-8", "replace")))
            position = end + 2
        elif kind == _STATUS:
            into.append(data[position + 1 : end])
            position = end + 2
        elif kind == _INTEGER:
            into.append(int(data[position + 1 : end]))
            position = end + 2
        elif kind == _NULL:
            into.append(None)
            position = end + 2
        elif kind == _PUSH:
            after = _end_of(data, position)
            if after < 0:
                break
            position = after
        else:
            raise UnexpectedReply(f"unexpected reply from Redis: {data[position : end + 2][:80]!r}")
    return position


def _end_of(data: bytes, position: int) -> int:
    """Where the value starting at ``position`` ends, any RESP type (``-1``: not all here yet)."""
    end = data.find(b"\r\n", position)
    if end < 0:
        return -1
    kind = data[position]
    if kind in _BLOBS:
        length = int(data[position + 1 : end])
        after = end + 2 + max(length, 0) + (2 if length >= 0 else 0)
        return after if after <= len(data) else -1
    if kind in _AGGREGATES:
        count = int(data[position + 1 : end])
        count *= 2 if kind in b"%|" else 1  # a map's entries are key and value
        position = end + 2
        for _ in range(max(count, 0)):
            position = _end_of(data, position)
            if position < 0:
                return -1
        return position
    return end + 2  # a one-line value
