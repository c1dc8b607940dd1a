"""Draw the strategies chart of the docs from the pure strategy steps.

Every strategy gets the same bursty traffic (timestamps in ms, cost 1) at the
same rate; each row of the chart shows which hits it admitted and which it
rejected. Nothing here reads a clock or a backend: the chart is a pure
function of the strategies, so a test can check the committed SVG is current.

Usage::

    python scripts/make_strategy_charts.py          # rewrite the SVG
    python scripts/make_strategy_charts.py --check  # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from traffik.rates import Rate
from traffik.strategies import (
    GCRA,
    FixedWindow,
    LeakyBucket,
    LeakyBucketWithQueue,
    SlidingWindowCounter,
    SlidingWindowLog,
    State,
    ThrottleStrategy,
    TokenBucket,
    TokenBucketWithDebt,
)

ROOT: Final = Path(__file__).resolve().parents[1]
OUTPUT: Final = ROOT / "docs" / "core-concepts" / "img" / "strategies.svg"
RATE: Final = Rate.parse("10/s")
DURATION_MS: Final = 3_000

# (label, strategy): the row order of the chart.
STRATEGIES: Final[tuple[tuple[str, ThrottleStrategy], ...]] = (
    ("FixedWindow", FixedWindow()),
    ("SlidingWindowCounter", SlidingWindowCounter()),
    ("SlidingWindowLog", SlidingWindowLog()),
    ("TokenBucket", TokenBucket()),
    ("TokenBucketWithDebt(max_debt=5)", TokenBucketWithDebt(max_debt=5)),
    ("LeakyBucket", LeakyBucket()),
    ("LeakyBucketWithQueue", LeakyBucketWithQueue()),
    ("GCRA", GCRA()),
    ("GCRA(burst_tolerance_ms=400)", GCRA(burst_tolerance_ms=400)),
)

# Geometry of the SVG, in px.
_LABEL_W: Final = 250
_PLOT_W: Final = 720
_ROW_H: Final = 44
_TOP: Final = 56
_RIGHT: Final = 40
_BOTTOM: Final = 34
_ADMIT: Final = "#2e7d32"
_REJECT: Final = "#c62828"


def traffic() -> list[float]:
    """The bursty traffic every strategy receives: hit times in ms, ascending."""
    times: list[float] = []
    times += [float(t) for t in range(0, 600, 200)]  # a trickle
    times += [float(t) for t in range(800, 1000, 20)]  # a burst of 10 just before the 1 s edge...
    times += [float(t) for t in range(1000, 1200, 20)]  # ...and another just after it
    times += [float(t) for t in range(1500, DURATION_MS, 100)]  # steady load at the limit
    return times


def simulate(strategy: ThrottleStrategy, rate: Rate, times: Sequence[float]) -> list[bool]:
    """Run ``strategy``'s pure step over ``times`` (cost 1 each); whether each hit was admitted."""
    state: State | None = None
    admitted: list[bool] = []
    for now in times:
        if state is not None and state[0] <= now:
            state = None  # what a backend does with an expired state
        state, decision = strategy.step(state, now, 1, rate)
        admitted.append(decision.allowed)
    return admitted


def _x(ms: float) -> str:
    return f"{_LABEL_W + ms / DURATION_MS * _PLOT_W:.1f}"


def render_svg() -> str:
    """The chart, as SVG text (deterministic: same strategies, same bytes)."""
    times = traffic()
    rows = [(label, simulate(strategy, RATE, times)) for label, strategy in STRATEGIES]
    width = _LABEL_W + _PLOT_W + _RIGHT
    height = _TOP + _ROW_H * len(rows) + _BOTTOM
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f"<title>Admitted and rejected hits of the same bursty traffic at {escape(str(RATE.limit))} per second, "
        "per strategy</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">Same traffic ({len(times)} hits), '
        f"rate 10/s: admitted vs rejected</text>",
        f'<circle cx="14" cy="38" r="4" fill="{_ADMIT}"/><text x="24" y="42">admitted</text>',
        f'<circle cx="104" cy="38" r="4" fill="none" stroke="{_REJECT}" stroke-width="1.5"/>'
        '<text x="114" y="42">rejected</text>',
    ]
    plot_bottom = _TOP + _ROW_H * len(rows)
    for second in range(0, DURATION_MS + 1, 1_000):
        x = _x(second)
        out.append(
            f'<line x1="{x}" y1="{_TOP - 4}" x2="{x}" y2="{plot_bottom}" stroke="#9e9e9e" stroke-dasharray="3,3"/>'
        )
        out.append(f'<text x="{x}" y="{plot_bottom + 16}" text-anchor="middle">{second} ms</text>')
    for index, (label, admitted) in enumerate(rows):
        top = _TOP + index * _ROW_H
        if index % 2:
            out.append(f'<rect x="0" y="{top}" width="{width}" height="{_ROW_H}" fill="#f5f5f5"/>')
        count = sum(admitted)
        out.append(f'<text x="10" y="{top + 20}">{escape(label)}</text>')
        out.append(f'<text x="10" y="{top + 36}" fill="#616161">{count} admitted, {len(times) - count} rejected</text>')
        for now, allowed in zip(times, admitted, strict=False):
            if allowed:
                out.append(f'<circle cx="{_x(now)}" cy="{top + 15}" r="3" fill="{_ADMIT}"/>')
            else:
                out.append(
                    f'<circle cx="{_x(now)}" cy="{top + 31}" r="3" fill="none" stroke="{_REJECT}" stroke-width="1.2"/>'
                )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the chart, or with ``--check`` report whether the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the SVG on disk is not current")
    args = parser.parse_args(argv)
    svg = render_svg()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != svg:
            print(f"{OUTPUT.relative_to(ROOT)} is stale: run python scripts/make_strategy_charts.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(svg, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
