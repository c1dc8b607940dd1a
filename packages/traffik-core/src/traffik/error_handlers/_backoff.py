"""Delays between retries: constant, linear or exponential, optionally jittered."""

from __future__ import annotations

import math
import random
from typing import Literal

from traffik.exceptions import ConfigurationError

__all__ = ["Backoff", "BACKOFFS", "compute_delay"]

Backoff = Literal["constant", "linear", "exponential"]
BACKOFFS: tuple[Backoff, ...] = ("constant", "linear", "exponential")


def check_backoff(value: object) -> Backoff:
    """``value`` if it names a backoff, else a :class:`ConfigurationError`."""
    for name in BACKOFFS:
        if value == name:
            return name
    raise ConfigurationError(f"retry: backoff must be 'constant', 'linear' or 'exponential', got {value!r}")


def compute_delay(
    backoff: Backoff,
    base: float,
    attempt: int,
    max_delay: float,
    jitter: bool,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``attempt`` (1-based).

    ``constant`` waits ``base`` each time, ``linear`` ``base * attempt``,
    ``exponential`` ``base * 2 ** (attempt - 1)``; all capped at ``max_delay``.
    Jitter draws the delay uniformly from ``[delay / 2, delay]`` so that
    clients that failed together do not retry together.

    Example:
        >>> [compute_delay("exponential", 0.1, n, 1.0, jitter=False) for n in (1, 2, 3, 5)]
        [0.1, 0.2, 0.4, 1.0]
    """
    if backoff == "constant":
        delay = base
    elif backoff == "linear":
        delay = base * attempt
    else:
        # min() before the power keeps huge attempt numbers from overflowing.
        delay = base * math.pow(2.0, min(attempt - 1, 64))
    delay = min(delay, max_delay)
    if jitter and delay > 0:
        draw = (rng or random).uniform(0.5, 1.0)
        delay *= draw
    return delay
