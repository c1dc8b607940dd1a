"""Throttling strategies: pure steps over a flat numeric state.

Every strategy maps ``(state, now_ms, cost, rate)`` to ``(new_state, decision)``
without reading a clock or touching storage (see
:class:`~traffik.strategies.ThrottleStrategy`). Each module documents its state
layout and reference algorithm; native backend implementations follow them.

This module is part of the public plugin API: :class:`ThrottleStrategy`,
:class:`Decision`, :data:`State`, :data:`UNLIMITED_DECISION` and
:func:`with_reset` are what a backend plugin builds on.

Example:
    >>> from traffik.rates import Rate
    >>> from traffik.strategies import DEFAULT_STRATEGY_CLASS, FixedWindow
    >>> DEFAULT_STRATEGY_CLASS is FixedWindow
    True
    >>> FixedWindow().step(None, 0.0, 1, Rate.parse("3/s"))[1].hits_remaining
    2
"""

from __future__ import annotations

from typing import Final

from traffik.strategies._base import UNLIMITED_DECISION, Decision, State, ThrottleStrategy, with_reset
from traffik.strategies._fixed_window import FixedWindow
from traffik.strategies._gcra import GCRA
from traffik.strategies._leaky_bucket import LeakyBucket, LeakyBucketWithQueue
from traffik.strategies._sliding_window_counter import SlidingWindowCounter
from traffik.strategies._sliding_window_log import SlidingWindowLog
from traffik.strategies._token_bucket import TokenBucket, TokenBucketWithDebt

__all__ = [
    "DEFAULT_STRATEGY_CLASS",
    "Decision",
    "FixedWindow",
    "FixedWindowStrategy",
    "GCRA",
    "GCRAStrategy",
    "LeakyBucket",
    "LeakyBucketStrategy",
    "LeakyBucketWithQueue",
    "LeakyBucketWithQueueStrategy",
    "SlidingWindowCounter",
    "SlidingWindowCounterStrategy",
    "SlidingWindowLog",
    "SlidingWindowLogStrategy",
    "State",
    "ThrottleStrategy",
    "TokenBucket",
    "TokenBucketStrategy",
    "TokenBucketWithDebt",
    "TokenBucketWithDebtStrategy",
    "UNLIMITED_DECISION",
    "with_reset",
]

# Names kept for code written against the 1.x API: the same classes.
FixedWindowStrategy = FixedWindow
SlidingWindowCounterStrategy = SlidingWindowCounter
SlidingWindowLogStrategy = SlidingWindowLog
TokenBucketStrategy = TokenBucket
TokenBucketWithDebtStrategy = TokenBucketWithDebt
LeakyBucketStrategy = LeakyBucket
LeakyBucketWithQueueStrategy = LeakyBucketWithQueue
GCRAStrategy = GCRA

DEFAULT_STRATEGY_CLASS: Final = FixedWindow
"""The strategy a backend uses when a throttle names none."""
