"""The Lua implementation of each built-in strategy, as registered with the plugin registry.

Each script is ``lua/prelude.lua`` followed by the strategy's own file; it
reads the state key, decides, stores the new state (on a hit) and returns the
decision, all inside Redis, so a hit is exactly one ``EVALSHA``. This module
imports nothing from redis-py: the plugin registry loads it lazily.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from typing import Final

from traffik.strategies._base import ThrottleStrategy

__all__ = [
    "FIXED_WINDOW",
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
    return resources.files(__package__).joinpath("lua").joinpath(name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class LuaScript:
    """One strategy's Lua script and how to turn the strategy's parameters into ``ARGV``.

    Attributes:
        strategy: The strategy ``NAME`` it implements.
        filename: Its file under ``lua/`` (the prelude is prepended).
        params: Maps a strategy instance to the extra ``ARGV`` strings (``ARGV[7]`` on).
    """

    strategy: str
    filename: str
    params: Callable[[ThrottleStrategy], tuple[str, ...]] = _no_params

    @cached_property
    def source(self) -> str:
        """The full script text, read once."""
        return _read("prelude.lua") + _read(self.filename)

    @cached_property
    def sha(self) -> str:
        """The SHA1 digest Redis knows the script by."""
        return hashlib.sha1(self.source.encode("utf-8")).hexdigest()


FIXED_WINDOW: Final = LuaScript("fixed-window", "fixed_window.lua")
SLIDING_WINDOW_COUNTER: Final = LuaScript("sliding-window-counter", "sliding_window_counter.lua")
SLIDING_WINDOW_LOG: Final = LuaScript("sliding-window-log", "sliding_window_log.lua")
TOKEN_BUCKET: Final = LuaScript("token-bucket", "token_bucket.lua", _token_bucket_params)
TOKEN_BUCKET_WITH_DEBT: Final = LuaScript("token-bucket-with-debt", "token_bucket.lua", _token_bucket_params)
LEAKY_BUCKET: Final = LuaScript("leaky-bucket", "leaky_bucket.lua")
LEAKY_BUCKET_WITH_QUEUE: Final = LuaScript("leaky-bucket-with-queue", "leaky_bucket_with_queue.lua")
GCRA: Final = LuaScript("gcra", "gcra.lua", _gcra_params)

SCRIPTS: Final[dict[str, str]] = {
    script.strategy: name
    for name, script in (
        ("FIXED_WINDOW", FIXED_WINDOW),
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
