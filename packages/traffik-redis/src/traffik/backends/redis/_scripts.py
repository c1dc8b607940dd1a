"""The Lua implementation of each built-in strategy but FixedWindow, as registered with the plugin registry.

(FixedWindow needs no script: a plain counter per window, :mod:`traffik.backends.redis._fixed_window`.)

Each script reads the state key, decides, stores the new state (on a hit) and
returns the decision, all inside Redis, so a hit is exactly one ``EVALSHA``.
Its text is, in this order:

* ``lua/clock.lua``: the time the script decides at (``ARGV[1]``, or the
  server's ``TIME`` in whole ms), in every script;
* ``lua/prelude.lua``: what every script needs (``ARGV`` parsing,
  ``reply``);
* the helpers it uses (``load_state`` and ``store_state`` among them), each
  ``lua/helpers/<name>.lua`` defining ``local function <name>``, included when
  ``<name>`` appears in the code (comments aside) of the prelude, the
  strategy's file or an included helper,
  and placed after the helpers it uses itself (Lua locals must be defined
  before use); ties go alphabetically, so the text, hence the SHA, is stable;
* the strategy's own file, ``lua/<strategy>.lua``.

Redis runs the whole chunk on every call, and each ``local function`` in it
allocates a closure every time: a script carries only the helpers it calls.
This module imports nothing from redis-py: the plugin registry loads it lazily.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources
from typing import Final

from traffik import strategies
from traffik.strategies import ThrottleStrategy

__all__ = [
    "GCRA",
    "LEAKY_BUCKET",
    "LEAKY_BUCKET_WITH_QUEUE",
    "LuaScript",
    "SCRIPTS",
    "SLIDING_WINDOW_COUNTER",
    "SLIDING_WINDOW_LOG",
    "TOKEN_BUCKET",
    "TOKEN_BUCKET_WITH_DEBT",
    "format_number",
    "helpers_for",
]


def format_number(value: float | int | None) -> str:
    """A number as an ``ARGV`` string Lua's ``tonumber`` reads back exactly (``""`` for ``None``)."""
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _no_params(strategy: ThrottleStrategy) -> tuple[str, ...]:
    return ()


def _token_bucket_params(strategy: ThrottleStrategy) -> tuple[str, ...]:
    params = strategy.params()
    return (format_number(params.get("burst_size")), format_number(params.get("max_debt", 0)))


def _gcra_params(strategy: ThrottleStrategy) -> tuple[str, ...]:
    return (format_number(strategy.params().get("burst_tolerance_ms", 0.0)),)


def _read(name: str) -> str:
    """The text of ``lua/<name>`` (``name`` may be ``helpers/<helper>.lua``)."""
    path = resources.files(__package__).joinpath("lua")
    for part in name.split("/"):
        path = path.joinpath(part)  # one part per call: Python 3.10's Traversable takes no more
    return path.read_text(encoding="utf-8")


_COMMENT: Final = re.compile(r"--[^\n]*")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _identifiers(code: str) -> set[str]:
    # Comments may name a helper without calling it ("like time_until ..."): they don't count.
    return set(_IDENTIFIER.findall(_COMMENT.sub("", code)))


@cache
def _helpers() -> dict[str, str]:
    """Every helper under ``lua/helpers/``: name -> text."""
    folder = resources.files(__package__).joinpath("lua").joinpath("helpers")
    names = sorted(entry.name[: -len(".lua")] for entry in folder.iterdir() if entry.name.endswith(".lua"))
    return {name: _read(f"helpers/{name}.lua") for name in names}


def helpers_for(code: str) -> tuple[str, ...]:
    """The helpers ``code`` uses, directly or through other helpers, each after the ones it uses.

    Raises:
        ValueError: Two helpers use each other (directly or not).
    """
    helpers = _helpers()
    order: list[str] = []
    open_: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        if name in open_:
            raise ValueError(f"Lua helpers use each other: {' -> '.join([*open_[open_.index(name) :], name])}")
        open_.append(name)
        for used in sorted((_identifiers(helpers[name]) & helpers.keys()) - {name}):
            visit(used)
        open_.pop()
        order.append(name)

    for name in sorted(_identifiers(code) & helpers.keys()):
        visit(name)
    return tuple(order)


@dataclass(frozen=True)
class LuaScript:
    """One strategy's Lua script and how to turn the strategy's parameters into ``ARGV``.

    Attributes:
        strategy: The strategy ``NAME`` it implements.
        filename: Its file under ``lua/`` (the clock, the prelude and the helpers it uses are prepended).
        params: Maps a strategy instance to the extra ``ARGV`` strings (``ARGV[7]`` on).
        strategy_class: The exact class whose step the script mirrors: the backend runs it for
            instances of that class only (a subclass may override ``step`` and keep ``NAME``;
            see :func:`traffik.backends.base.runs_natively`, the rule every backend follows);
            ``None`` runs it for no strategy.
        layout: Appended to the state key's last part when the stored layout changed in a way
            an earlier release cannot read: each release then keeps its own key, so instances of
            both, during a rolling deploy, each count their own hits instead of resetting each
            other's state ("": the strategy's ``NAME`` alone).
    """

    strategy: str
    filename: str
    params: Callable[[ThrottleStrategy], tuple[str, ...]] = _no_params
    strategy_class: type[ThrottleStrategy] | None = None
    layout: str = ""

    @property
    def state_name(self) -> str:
        """The last part of the state key (``KEYS[1]``): the strategy's ``NAME``, then ``:<layout>`` if any."""
        return f"{self.strategy}:{self.layout}" if self.layout else self.strategy

    @cached_property
    def helpers(self) -> tuple[str, ...]:
        """The helpers included, in the order they appear in :attr:`source`."""
        return helpers_for(_read("prelude.lua") + _read(self.filename))

    @cached_property
    def source(self) -> str:
        """The full script text, read once: the clock, the prelude, the helpers, then the strategy's file."""
        parts = [_read("clock.lua"), _read("prelude.lua")]
        parts += [_helpers()[name] for name in self.helpers]
        parts.append(_read(self.filename))
        return "".join(parts)

    @cached_property
    def sha(self) -> str:
        """The SHA1 digest Redis knows the script by."""
        return hashlib.sha1(self.source.encode("utf-8")).hexdigest()


SLIDING_WINDOW_COUNTER: Final = LuaScript(
    "sliding-window-counter", "sliding_window_counter.lua", strategy_class=strategies.SlidingWindowCounter
)
# "2": the list's head is (window, base, S_1, M_1), which traffik-redis 2.0 (a head of
# expires_at and base, rewritten on every hit) would read as no log, and reset.
SLIDING_WINDOW_LOG: Final = LuaScript(
    "sliding-window-log", "sliding_window_log.lua", strategy_class=strategies.SlidingWindowLog, layout="2"
)
TOKEN_BUCKET: Final = LuaScript("token-bucket", "token_bucket.lua", _token_bucket_params, strategies.TokenBucket)
TOKEN_BUCKET_WITH_DEBT: Final = LuaScript(
    "token-bucket-with-debt", "token_bucket.lua", _token_bucket_params, strategies.TokenBucketWithDebt
)
LEAKY_BUCKET: Final = LuaScript("leaky-bucket", "leaky_bucket.lua", strategy_class=strategies.LeakyBucket)
LEAKY_BUCKET_WITH_QUEUE: Final = LuaScript(
    "leaky-bucket-with-queue", "leaky_bucket_with_queue.lua", strategy_class=strategies.LeakyBucketWithQueue
)
GCRA: Final = LuaScript("gcra", "gcra.lua", _gcra_params, strategies.GCRA)

SCRIPTS: Final[dict[str, str]] = {
    script.strategy: name
    for name, script in (
        ("SLIDING_WINDOW_COUNTER", SLIDING_WINDOW_COUNTER),
        ("SLIDING_WINDOW_LOG", SLIDING_WINDOW_LOG),
        ("TOKEN_BUCKET", TOKEN_BUCKET),
        ("TOKEN_BUCKET_WITH_DEBT", TOKEN_BUCKET_WITH_DEBT),
        ("LEAKY_BUCKET", LEAKY_BUCKET),
        ("LEAKY_BUCKET_WITH_QUEUE", LEAKY_BUCKET_WITH_QUEUE),
        ("GCRA", GCRA),
    )
}
"""Strategy ``NAME`` -> attribute of this module holding its script (what the plugin registers)."""
