"""Splitting a batch of pipelined replies (:mod:`traffik.backends.redis._replies`), byte by byte."""

from __future__ import annotations

import pytest
from traffik.backends.redis._replies import ErrorReply, Reply, UnexpectedReply, split_replies

STREAM = (
    b"$9\r\n1 0 99 10\r\n"  # a script's reply
    b"-NOSCRIPT No matching script\r\n"  # an error reply, in step
    b">3\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n:7\r\n"  # a RESP3 push: answers no command
    b"$0\r\n\r\n"
    b"+OK\r\n"
    b":42\r\n"
    b"$-1\r\n"
    b"_\r\n"  # RESP3's nil: a counter's GET of a missing key
)
REPLIES: list[Reply] = [b"1 0 99 10", ErrorReply("NOSCRIPT No matching script"), b"", b"OK", 42, None, None]


def test_a_whole_batch_splits_into_its_replies_in_order() -> None:
    replies: list[Reply] = []
    assert split_replies(STREAM, replies) == len(STREAM)
    assert replies == REPLIES
    assert isinstance(replies[1], ErrorReply)


@pytest.mark.parametrize("cut", range(1, len(STREAM)))
def test_a_batch_cut_anywhere_gives_the_same_replies(cut: int) -> None:
    # A read may end anywhere: what is not a whole reply yet waits for the next read.
    replies: list[Reply] = []
    used = split_replies(STREAM[:cut], replies)
    rest = STREAM[used:cut] + STREAM[cut:]
    assert split_replies(rest, replies) == len(rest)
    assert replies == REPLIES


@pytest.mark.parametrize("reply", [b"*2\r\n:1\r\n:2\r\n", b",1.5\r\n", b"?\r\n"], ids=repr)
def test_a_reply_the_scripts_never_send_is_refused(reply: bytes) -> None:
    with pytest.raises(UnexpectedReply):
        split_replies(b"$1\r\n1\r\n" + reply, [])
