"""A hit's ``EVALSHA``, packed mostly in advance.

redis-py packs a command argument by argument (type checks, encoding, a length
prefix and a join for each): several µs for an ``EVALSHA`` with ten arguments,
paid on every hit. Yet most of a hit's bytes never change: the script's SHA,
the rate, the strategy's parameters, the clock margin. :class:`ScriptCall`
packs those once, so a hit only packs its key, its clock reading and its cost.

The encoding is the Redis protocol's request form, an array of bulk strings:
``*<count>\\r\\n`` then ``$<length>\\r\\n<bytes>\\r\\n`` per argument.
The scripts' reply, one line of numbers, is read back by :func:`decision_from_reply`.
"""

from __future__ import annotations

from typing import Final

from traffik.backends.redis._scripts import LuaScript
from traffik.rates import Rate
from traffik.strategies import Decision, ThrottleStrategy

__all__ = ["ScriptCall", "bulk", "command", "decision_from_reply"]

_MAX_RATES: Final = 256  # rates remembered per strategy; an app has a handful
_HIT: Final = "1"
_PEEK: Final = "0"
_ALLOWED: Final = (b"1", "1")


def bulk(value: bytes) -> bytes:
    """One argument in the protocol's bulk-string form."""
    return b"$%d\r\n%b\r\n" % (len(value), value)


def command(*parts: bytes) -> bytes:
    """A whole command: the array header, then each part as a bulk string."""
    return b"*%d\r\n" % len(parts) + b"".join(map(bulk, parts))


class ScriptCall:
    """``EVALSHA <sha> 1 <state key> <now> <cost> <limit> <expire> <mode> <margin> <params...>`` for one strategy.

    Args:
        strategy: The strategy object (kept, so a cache keyed by its ``id`` stays valid).
        script: Its Lua script.
        margin: ``ARGV[6]``, the ms every key outlives its state.
    """

    __slots__ = ("_head", "_hit_tail", "_peek_tail", "_rates", "margin", "params", "script", "state_name", "strategy")

    def __init__(self, strategy: ThrottleStrategy, script: LuaScript, margin: str) -> None:
        self.strategy = strategy
        self.script = script
        self.margin = margin
        self.state_name = script.state_name
        """The last part of the state key (``KEYS[1]``): the strategy's ``NAME``, and the script's layout."""
        self.params = script.params(strategy)
        count = 4 + 6 + len(self.params)
        self._head = b"*%d\r\n" % count + bulk(b"EVALSHA") + bulk(script.sha.encode()) + bulk(b"1")
        after_mode = bulk(margin.encode()) + b"".join(bulk(param.encode()) for param in self.params)
        self._hit_tail = bulk(_HIT.encode()) + after_mode
        self._peek_tail = bulk(_PEEK.encode()) + after_mode
        self._rates: dict[Rate, bytes] = {}

    def pack(self, key: bytes, now: bytes, cost: int, rate: Rate, commit: bool) -> bytes:
        """The whole command for one hit (``commit``) or peek, ready for the socket."""
        rate_part = self._rates.get(rate)
        if rate_part is None:
            rate_part = self._pack_rate(rate)
        tail = self._hit_tail if commit else self._peek_tail
        return b"".join((self._head, bulk(key), bulk(now), bulk(b"%d" % cost), rate_part, tail))

    def pack_source(self, key: bytes, now: str, cost: int, rate: Rate, commit: bool) -> bytes:
        """The same call as ``EVAL`` with the script's text, which also caches it (after ``NOSCRIPT``)."""
        source = self.script.source.encode()
        return command(b"EVAL", source, b"1", key, *(arg.encode() for arg in self.argv(now, cost, rate, commit)))

    def argv(self, now: str, cost: int, rate: Rate, commit: bool) -> tuple[str, ...]:
        """The same arguments after the key, as text, for redis-py's own command path."""
        return (now, str(cost), str(rate.limit), str(rate.expire), _HIT if commit else _PEEK, self.margin, *self.params)

    def _pack_rate(self, rate: Rate) -> bytes:
        packed = bulk(str(rate.limit).encode()) + bulk(str(rate.expire).encode())
        if len(self._rates) >= _MAX_RATES:
            self._rates.clear()
        self._rates[rate] = packed
        return packed


def decision_from_reply(reply: bytes | str) -> Decision:
    """Parse a script's reply: the line ``allowed wait_ms hits_remaining reset_ms [queue_delay_ms]``."""
    parts = reply.split()
    remaining = parts[2]
    decision = Decision(
        parts[0] in _ALLOWED,
        float(parts[1]),
        int(remaining) if remaining.isdigit() else _number(remaining),
        {"queue_delay_ms": float(parts[4])} if len(parts) > 4 else None,
    )
    decision.reset_ms = float(parts[3])
    return decision


def _number(text: bytes | str) -> float | int:
    """A reply number that is not a plain non-negative integer: an int when whole, else the float."""
    value = float(text)
    return int(value) if value.is_integer() else value
