"""Draw the strategies chart of the docs from the pure strategy steps.

Every strategy gets the same bursty traffic (timestamps in ms, cost 1) at the
same rate; each row of the chart shows which hits it admitted and which it
rejected. Nothing here reads a clock or a backend: the chart is a pure
function of the strategies, so a test can check the committed SVGs are current.

The chart is drawn twice, once per palette of the site (light and dark). Both
have a transparent background; the page shows the one that matches the reader's
palette through mkdocs-material's ``#only-light`` / ``#only-dark`` image suffixes.

Usage::

    python scripts/make_strategy_charts.py          # rewrite the SVGs
    python scripts/make_strategy_charts.py --check  # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple
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
IMAGES: Final = ROOT / "docs" / "core-concepts" / "img"
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


class Palette(NamedTuple):
    """Colours of one variant of the chart (the background stays transparent)."""

    text: str
    muted: str  # the counts under each label
    grid: str
    stripe: str  # every other row
    admit: str
    reject: str


# Contrast against the site's backgrounds: white (light) and mkdocs-material's slate (dark).
LIGHT: Final = Palette(
    text="#212121", muted="#616161", grid="#9e9e9e", stripe="#f5f5f5", admit="#2e7d32", reject="#c62828"
)
DARK: Final = Palette(
    text="#e8eaed", muted="#b0b4bc", grid="#80868b", stripe="#2a2d38", admit="#66bb6a", reject="#ff6e6e"
)
# File -> palette: the page shows strategies.svg in light mode and strategies-dark.svg in dark mode.
OUTPUTS: Final[dict[Path, Palette]] = {
    IMAGES / "strategies.svg": LIGHT,
    IMAGES / "strategies-dark.svg": DARK,
}


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


def render_svg(palette: Palette = LIGHT) -> str:
    """The chart in ``palette``'s colours, as SVG text (deterministic: same strategies, same bytes)."""
    times = traffic()
    rows = [(label, simulate(strategy, RATE, times)) for label, strategy in STRATEGIES]
    width = _LABEL_W + _PLOT_W + _RIGHT
    height = _TOP + _ROW_H * len(rows) + _BOTTOM
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" fill="{palette.text}">',
        f"<title>Admitted and rejected hits of the same bursty traffic at {escape(str(RATE.limit))} per second, "
        "per strategy</title>",
        f'<text x="10" y="20" font-size="14" font-weight="bold">Same traffic ({len(times)} hits), '
        f"rate 10/s: admitted vs rejected</text>",
        f'<circle cx="14" cy="38" r="4" fill="{palette.admit}"/><text x="24" y="42">admitted</text>',
        f'<circle cx="104" cy="38" r="4" fill="none" stroke="{palette.reject}" stroke-width="1.5"/>'
        '<text x="114" y="42">rejected</text>',
    ]
    plot_bottom = _TOP + _ROW_H * len(rows)
    # Stripes first: the grid lines are drawn over them.
    for index in range(1, len(rows), 2):
        out.append(
            f'<rect x="0" y="{_TOP + index * _ROW_H}" width="{width}" height="{_ROW_H}" fill="{palette.stripe}"/>'
        )
    for second in range(0, DURATION_MS + 1, 1_000):
        x = _x(second)
        out.append(
            f'<line x1="{x}" y1="{_TOP - 4}" x2="{x}" y2="{plot_bottom}" '
            f'stroke="{palette.grid}" stroke-dasharray="3,3"/>'
        )
        out.append(f'<text x="{x}" y="{plot_bottom + 16}" text-anchor="middle">{second} ms</text>')
    for index, (label, admitted) in enumerate(rows):
        top = _TOP + index * _ROW_H
        count = sum(admitted)
        out.append(f'<text x="10" y="{top + 20}">{escape(label)}</text>')
        out.append(
            f'<text x="10" y="{top + 36}" fill="{palette.muted}">{count} admitted, {len(times) - count} rejected</text>'
        )
        for now, allowed in zip(times, admitted, strict=False):
            if allowed:
                out.append(f'<circle cx="{_x(now)}" cy="{top + 15}" r="3" fill="{palette.admit}"/>')
            else:
                out.append(
                    f'<circle cx="{_x(now)}" cy="{top + 31}" r="3" fill="none" '
                    f'stroke="{palette.reject}" stroke-width="1.2"/>'
                )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the charts, or with ``--check`` report whether the committed ones are current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if an SVG on disk is not current")
    args = parser.parse_args(argv)
    stale = 0
    for output, palette in OUTPUTS.items():
        svg = render_svg(palette)
        if args.check:
            current = output.read_text(encoding="utf-8") if output.exists() else ""
            if current != svg:
                print(
                    f"{output.relative_to(ROOT)} is stale: run python scripts/make_strategy_charts.py", file=sys.stderr
                )
                stale += 1
            continue
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(svg, encoding="utf-8")
        print(f"wrote {output.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
