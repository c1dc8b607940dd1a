"""Repeat, interleave and summarise measurements."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["Sample", "measure_interleaved", "ratio", "spread"]


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
    """
    samples = [Sample(name) for name, _ in variants]
    for _, run in variants:
        await run(max(1, operations // 10))
    for _ in range(repeats):
        for sample, (_, run) in zip(samples, variants, strict=True):
            elapsed = await run(operations)
            sample.runs_us.append(elapsed / operations * 1e6)
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
