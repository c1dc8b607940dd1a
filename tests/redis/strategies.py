"""The eight built-in strategies, with hypothesis strategies for their parameters."""

from __future__ import annotations

from typing import Final

from hypothesis import strategies as st
from traffik.backends.redis import _scripts
from traffik.backends.redis._keys import KeyLayout
from traffik.rates import Rate
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

_GLOB_SPECIALS: Final = str.maketrans({char: "\\" + char for char in "\\*?[]^-{}"})

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

    FixedWindow has no script and no single key: see :func:`window_key_of`.
    """
    assert strategy.NAME != FixedWindow.NAME, "FixedWindow keeps a key per window: use window_key_of"
    script = getattr(_scripts, _scripts.SCRIPTS[strategy.NAME], None)
    return KeyLayout(namespace).state_key(key, strategy.NAME if script is None else script.state_name)


def window_key_of(namespace: str, key: str, now: float, rate: Rate) -> str:
    """FixedWindow's counter for throttle key ``key`` in the window of ``rate`` holding ``now``."""
    return KeyLayout(namespace).window_key(key, int((now // rate.expire + 1) * rate.expire))


def window_pattern_of(namespace: str, key: str) -> str:
    """A ``KEYS``/``SCAN`` pattern matching every FixedWindow counter of throttle key ``key``."""
    return KeyLayout(namespace).window_key(key, 0).translate(_GLOB_SPECIALS)[: -len("0")] + "*"
