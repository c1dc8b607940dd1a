"""The eight built-in strategies, with hypothesis strategies for their parameters."""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st
from traffik.backends.redis._keys import KeyLayout
from traffik.backends.redis._scripts import FIXED_WINDOW
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    TokenBucketWithDebt,
)
from traffik.strategies._base import ThrottleStrategy

DEFAULTS: Final[dict[str, ThrottleStrategy]] = {
    "fixed-window": FixedWindow(),
    "sliding-window-counter": SlidingWindowCounter(),
    "sliding-window-log": SlidingWindowLog(),
    "token-bucket": TokenBucket(),
    "token-bucket-with-debt": TokenBucketWithDebt(max_debt=3),
    "leaky-bucket": LeakyBucket(),
    "leaky-bucket-with-queue": LeakyBucketWithQueue(),
    "gcra": GCRA(burst_tolerance_ms=250),
}
"""One instance of each strategy, by NAME (test ids)."""

_burst = st.none() | st.integers(min_value=1, max_value=25)

INSTANCES: Final[dict[str, st.SearchStrategy[ThrottleStrategy]]] = {
    "fixed-window": st.just(FixedWindow()),
    "sliding-window-counter": st.just(SlidingWindowCounter()),
    "sliding-window-log": st.just(SlidingWindowLog()),
    "token-bucket": st.builds(TokenBucket, burst_size=_burst),
    "token-bucket-with-debt": st.builds(
        TokenBucketWithDebt, burst_size=_burst, max_debt=st.integers(min_value=0, max_value=10)
    ),
    "leaky-bucket": st.just(LeakyBucket()),
    "leaky-bucket-with-queue": st.just(LeakyBucketWithQueue()),
    "gcra": st.builds(
        GCRA,
        burst_tolerance_ms=st.integers(min_value=0, max_value=5_000)
        | st.floats(min_value=0, max_value=5_000, allow_nan=False),
    ),
}
"""Hypothesis strategies drawing each strategy with varied parameters."""


def state_key_of(namespace: str, key: str, strategy: ThrottleStrategy) -> str:
    """The state key (``KEYS[1]``) of ``strategy``'s script for throttle key ``key``.

    FixedWindow's has a suffix: it holds a hash of the window's end to its count, not packed doubles.
    """
    suffix = FIXED_WINDOW.key_suffix if strategy.NAME == FixedWindow.NAME else ""
    return KeyLayout(namespace).state_key(key, strategy.NAME + suffix)
