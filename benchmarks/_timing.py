"""Repeat, interleave and summarise measurements."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Sample", "measure_interleaved", "ratio", "set_run_seconds", "spread"]

# Seconds one timed run should last (``--duration``); None: runs are sized by count.
_run_seconds: float | None = None
# However fast a variant is, a sized run does at most this many times the requested count.
_MAX_SCALE = 100


def set_run_seconds(seconds: float | None) -> None:
    """Size every later timed run to last about ``seconds`` (``None``: use the counts given).

    The command's ``--duration`` sets it once, so every scenario, the plugins'
    own included, follows it without a parameter threaded through each.
    """
    global _run_seconds
    _run_seconds = seconds


@dataclass
class Sample:
    """Per-operation times (µs) of one variant over several repeats."""

    name: str
    runs_us: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs_us)

    @property
    def low(self) -> float:
        return min(self.runs_us)

    @property
    def high(self) -> float:
        return max(self.runs_us)


async def measure_interleaved(
    variants: Sequence[tuple[str, Callable[[int], Awaitable[float]]]],
    operations: int,
    repeats: int,
) -> list[Sample]:
    """Run every variant ``repeats`` times, round-robin, after one warm-up run each.

    A variant is ``run(operations) -> elapsed seconds``; the result is µs per
    operation. Interleaving spreads machine noise evenly over the variants.
    After :func:`set_run_seconds`, each variant's count is sized from its
    warm-up so that a run lasts about that long (at most 100x ``operations``).
    """
    samples = [Sample(name) for name, _ in variants]
    counts: list[int] = []
    for _, run in variants:
        warm_up = max(1, operations // 10)
        elapsed = await run(warm_up)
        if _run_seconds is None or elapsed <= 0:
            counts.append(operations)
        else:
            counts.append(max(1, min(_MAX_SCALE * operations, round(warm_up * _run_seconds / elapsed))))
    for _ in range(repeats):
        for sample, count, (_, run) in zip(samples, counts, variants, strict=True):
            elapsed = await run(count)
            sample.runs_us.append(elapsed / count * 1e6)
    return samples


def spread(values: Sequence[float], digits: int = 3) -> dict[str, float]:
    """``{"median", "min", "max"}`` of ``values``, rounded for printing and JSON."""
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }


def ratio(value: float, floor: float | None) -> float | None:
    """``value / floor`` (how many floors a figure costs), or ``None`` without a floor."""
    if floor is None or floor <= 0:
        return None
    return round(value / floor, 2)
