"""Choosing a strategy per throttle, and a default per backend."""

from __future__ import annotations

from traffik import HTTPThrottle
from traffik.backends.inmemory import InMemoryBackend
from traffik.strategies import (
    GCRA,
    FixedWindow,
    SlidingWindowLog,
    TokenBucket,
    TokenBucketWithDebt,
)

backend = InMemoryBackend()

# The default: FixedWindow (cheapest, allows up to 2x the limit across a window edge).
search = HTTPThrottle("strategies:search", rate="100/min", backend=backend)

# Exact: no edge bursts, memory grows with the limit.
login = HTTPThrottle(
    "strategies:login", rate="5/min", backend=backend, strategy=SlidingWindowLog()
)

# Smooth refill with a burst allowance of 20 on top of 10/s sustained.
uploads = HTTPThrottle(
    "strategies:uploads",
    rate="10/s",
    backend=backend,
    strategy=TokenBucket(burst_size=20),
)

# Let a client go 5 units into debt, paid back before it may spend again.
reports = HTTPThrottle(
    "strategies:reports",
    rate="60/min",
    backend=backend,
    strategy=TokenBucketWithDebt(max_debt=5),
)

# Evenly spaced: one hit per 100 ms, with up to 300 ms of early arrival tolerated.
ticks = HTTPThrottle(
    "strategies:ticks",
    rate="10/s",
    backend=backend,
    strategy=GCRA(burst_tolerance_ms=300),
)


def main() -> None:
    assert FixedWindow() == FixedWindow()  # strategies compare by their parameters
    assert repr(TokenBucket(burst_size=20)) == "TokenBucket(burst_size=20)"
    for throttle in (search, login, uploads, reports, ticks):
        assert throttle.rate is not None
