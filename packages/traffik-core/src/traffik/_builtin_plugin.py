"""Core's own components, registered through the same hooks as any third-party plugin.

The plugin registry registers this module under the name ``"builtin"`` before
it loads the ``traffik`` entry points. Like every entry module it only names
classes; nothing here imports a backend or a strategy.
"""

from __future__ import annotations

from traffik.hookspecs import hookimpl
from traffik.plugins._info import BackendInfo, StrategyInfo

__all__ = ["traffik_register_backends", "traffik_register_strategies"]


@hookimpl
def traffik_register_backends() -> list[BackendInfo]:
    """The in-memory backend, reachable as ``memory://`` and ``inmemory://``."""
    return [
        BackendInfo(
            name="inmemory",
            url_schemes=("memory", "inmemory"),
            loader="traffik.backends.inmemory:InMemoryBackend",
            description="Process-local storage: tests, development, single-process apps",
        )
    ]


_STRATEGIES = (
    ("fixed-window", "FixedWindow", "Counter reset at fixed window boundaries"),
    ("sliding-window-counter", "SlidingWindowCounter", "Weighted current + previous window counters"),
    ("sliding-window-log", "SlidingWindowLog", "Exact sliding window over a log of hits"),
    ("token-bucket", "TokenBucket", "Tokens refill continuously; bursts up to the limit"),
    ("token-bucket-with-debt", "TokenBucketWithDebt", "Token bucket that may go into bounded debt"),
    ("leaky-bucket", "LeakyBucket", "Level drains at a constant rate; overflow is denied"),
    ("leaky-bucket-with-queue", "LeakyBucketWithQueue", "Leaky bucket that queues hits and spaces them out"),
    ("gcra", "GCRA", "Generic cell rate algorithm: evenly spaced hits with a burst allowance"),
)


@hookimpl
def traffik_register_strategies() -> list[StrategyInfo]:
    """The eight strategies of :mod:`traffik.strategies`."""
    return [
        StrategyInfo(name=name, loader=f"traffik.strategies:{class_name}", description=description)
        for name, class_name, description in _STRATEGIES
    ]
