"""Every throttling strategy, side by side, on the in-memory backend.

Run it with ``bash scripts/demo.sh`` (or ``python examples/demo.py``). Each
strategy gets the same traffic against the same rate: a burst of hits at
``t = 0``, then a second burst once the clock has moved on. A
:class:`~traffik.clock.ManualClock` moves time, so the demo never sleeps and
prints the same table every run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from traffik import Rate
from traffik.backends.inmemory import InMemoryBackend
from traffik.clock import ManualClock
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)

# Start the clock away from zero so that nothing relies on "t = 0" being special.
_START_MS = 1_000_000.0


def strategies() -> list[tuple[ThrottleStrategy, str]]:
    """One instance of each built-in strategy, and its settings other than the defaults."""
    return [
        (FixedWindow(), "-"),
        (SlidingWindowCounter(), "-"),
        (SlidingWindowLog(), "-"),
        (TokenBucket(), "-"),
        # With no debt allowed it would behave exactly like TokenBucket.
        (TokenBucketWithDebt(max_debt=2), "max_debt=2"),
        (LeakyBucket(), "-"),
        (LeakyBucketWithQueue(), "-"),
        (GCRA(), "-"),
    ]


@dataclass(frozen=True)
class Row:
    """What one strategy did with the demo's traffic."""

    strategy: str
    settings: str
    allowed: int
    denied: int
    first_wait_ms: float | None
    later_allowed: int
    later_denied: int


async def _burst(backend: InMemoryBackend, key: str, strategy: ThrottleStrategy, rate: Rate, hits: int) -> list[float]:
    """Send ``hits`` hits at once; the wait of each denied one, in order."""
    waits: list[float] = []
    for _ in range(hits):
        decision = await backend.hit(key, strategy, rate, cost=1)
        if not decision.allowed:
            waits.append(decision.wait_ms)
    return waits


async def run(strategy: ThrottleStrategy, rate: Rate, hits: int, later_ms: float, settings: str = "-") -> Row:
    """Play the demo's timeline against one strategy on a fresh backend and clock."""
    clock = ManualClock(_START_MS)
    backend = InMemoryBackend(clock=clock)
    async with backend:
        key = f"demo:{type(strategy).__name__}"
        denied_now = await _burst(backend, key, strategy, rate, hits)
        clock.advance(later_ms)
        denied_later = await _burst(backend, key, strategy, rate, hits)
    return Row(
        strategy=type(strategy).__name__,
        settings=settings,
        allowed=hits - len(denied_now),
        denied=len(denied_now),
        first_wait_ms=denied_now[0] if denied_now else None,
        later_allowed=hits - len(denied_later),
        later_denied=len(denied_later),
    )


def format_table(rows: Sequence[Row], later_ms: float) -> str:
    """The rows as a plain-text table, one line per strategy."""
    later = f"{later_ms:g} ms later"
    header = ("strategy", "settings", "allowed", "denied", "first wait (ms)", f"{later}: allowed", "denied")
    lines = [
        (
            row.strategy,
            row.settings,
            str(row.allowed),
            str(row.denied),
            "-" if row.first_wait_ms is None else f"{row.first_wait_ms:.1f}",
            str(row.later_allowed),
            str(row.later_denied),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]

    def render(cells: Sequence[str]) -> str:
        # Text columns to the left, numbers to the right.
        left = (cell.ljust(width) for cell, width in zip(cells[:2], widths[:2], strict=True))
        right = (cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True))
        return "  ".join([*left, *right])

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(cells) for cells in lines)])


async def demo(rate: Rate, hits: int, later_ms: float) -> list[Row]:
    """Run every strategy through the same traffic."""
    return [await run(strategy, rate, hits, later_ms, settings) for strategy, settings in strategies()]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run the demo and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", default="5/s", help="rate limit every strategy enforces (default: 5/s)")
    parser.add_argument("--hits", type=int, default=10, help="hits in each burst (default: 10)")
    parser.add_argument("--later-ms", type=float, default=1000.0, help="time between the bursts (default: 1000)")
    args = parser.parse_args(argv)
    if args.hits < 1:
        parser.error(f"--hits must be at least 1, got {args.hits}")
    if args.later_ms < 0:
        parser.error(f"--later-ms must not be negative, got {args.later_ms:g}")
    try:
        rate = Rate.parse(args.rate)
    except ValueError as exc:  # ConfigurationError is a ValueError too
        parser.error(str(exc))

    rows = asyncio.run(demo(rate, args.hits, args.later_ms))
    print(f"Traffik strategies on the in-memory backend, rate {args.rate!r}")
    print(f"{args.hits} hits at once, then {args.hits} more {args.later_ms:g} ms later (a ManualClock moves time)\n")
    print(format_table(rows, args.later_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
