"""Draw the sample dashboard of "Operating in production" from a real run.

The run is ``docs_src/operations/dashboard_run.py``: a throttle rolled out in
shadow mode, enforced at run time, then a store outage that fails open, all
observed by traffik-prometheus and scraped every 15 seconds. Its clock is a
manual one, so the numbers, and the SVGs, are the same on every machine and a
test can check the committed ones are current. Each panel plots what its PromQL
query would: the per-second increase of a counter between two scrapes.

Drawn twice, once per palette of the site (light and dark), with transparent
backgrounds; the page picks one with mkdocs-material's ``#only-light`` /
``#only-dark`` image suffixes.

Usage::

    python scripts/make_operations_dashboard.py          # rewrite the SVGs
    python scripts/make_operations_dashboard.py --check  # exit 1 if one is stale
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final, NamedTuple
from xml.sax.saxutils import escape

ROOT: Final = Path(__file__).resolve().parents[1]
RUN: Final = ROOT / "docs_src" / "operations" / "dashboard_run.py"
IMAGES: Final = ROOT / "docs" / "img"


class Palette(NamedTuple):
    """Colours of one variant (the background stays transparent)."""

    text: str
    muted: str
    grid: str
    band: str  # the outage
    allowed: str
    shadow: str
    throttled: str
    error: str
    near: str


LIGHT: Final = Palette(
    "#212121", "#616161", "#bdbdbd", "#fdecea", "#2e7d32", "#ef6c00", "#c62828", "#6a1b9a", "#1565c0"
)
DARK: Final = Palette("#e8eaed", "#b0b4bc", "#5f6368", "#3b2a2e", "#66bb6a", "#ffa726", "#ff6e6e", "#ce93d8", "#64b5f6")
OUTPUTS: Final[dict[Path, Palette]] = {
    IMAGES / "operations-dashboard.svg": LIGHT,
    IMAGES / "operations-dashboard-dark.svg": DARK,
}

# Geometry, in px.
_LEFT: Final = 60
_PLOT_W: Final = 760
_PANEL_H: Final = 150
_GAP: Final = 72
_TOP: Final = 40


class Series(NamedTuple):
    label: str
    sample: str
    colour: str  # a Palette field name
    dashed: bool = False


class Panel(NamedTuple):
    title: str
    series: tuple[Series, ...]


def _decisions(outcome: str) -> str:
    return f"traffik_decisions_total{{outcome={outcome},throttle=api}}"


PANELS: Final = (
    Panel(
        "Decisions per second by outcome: sum by (outcome) (rate(traffik_decisions_total[1m]))",
        (
            Series("allowed", _decisions("allowed"), "allowed"),
            Series("shadow-throttled", _decisions("shadow-throttled"), "shadow", dashed=True),
            Series("throttled (429)", _decisions("throttled"), "throttled"),
            Series("error", _decisions("error"), "error"),
        ),
    ),
    Panel(
        "Near the limit per second: rate(traffik_near_limit_total[1m])",
        (Series("near limit", "traffik_near_limit_total{throttle=api}", "near"),),
    ),
    Panel(
        'Failed open per second: rate(traffik_backend_errors_total{policy="allow"}[1m])',
        (Series("backend errors, allow", "traffik_backend_errors_total{backend=inmemory,policy=allow}", "error"),),
    ),
)


def load_run() -> ModuleType:
    """The docs example that makes the data (a file, not a package: loaded by path)."""
    spec = importlib.util.spec_from_file_location("operations_dashboard_run", RUN)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rates(scrapes: Sequence[tuple[int, dict[str, float]]], sample: str, window: int = 60) -> list[tuple[int, float]]:
    """(second, per-second increase over the ``window`` before it): what ``rate(sample[1m])`` plots."""
    by_second = dict(scrapes)
    return [
        (second, (samples.get(sample, 0.0) - by_second[second - window].get(sample, 0.0)) / window)
        for second, samples in scrapes
        if second - window in by_second
    ]


def render_svg(scrapes: Sequence[tuple[int, dict[str, float]]], run: ModuleType, palette: Palette) -> str:
    """The dashboard in ``palette``'s colours (deterministic: same run, same bytes)."""
    duration: int = run.DURATION
    height = _TOP + len(PANELS) * (_PANEL_H + _GAP)
    width = _LEFT + _PLOT_W + 30

    def x(second: float) -> str:
        return f"{_LEFT + second / duration * _PLOT_W:.1f}"

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'font-family="sans-serif" font-size="12" fill="{palette.text}">',
        "<title>Sample Traffik dashboard: decisions, near-limit and fail-open errors over ten minutes</title>",
        f'<text x="10" y="20" font-size="14" font-weight="bold">Ten minutes of one throttle (60/min per client): '
        f"shadow mode, enforced at {run.ENFORCE_AT // 60} min, a store outage at "
        f"{run.OUTAGE[0] // 60}-{run.OUTAGE[1] // 60} min</text>",
    ]
    for index, panel in enumerate(PANELS):
        top = _TOP + index * (_PANEL_H + _GAP) + 24
        bottom = top + _PANEL_H
        lines = [(series, rates(scrapes, series.sample)) for series in panel.series]
        peak = max(value for _, points in lines for _, value in points) or 1.0
        scale = _nice(peak)

        def y(value: float, top: int = top, scale: float = scale) -> str:
            return f"{top + _PANEL_H - value / scale * _PANEL_H:.1f}"

        out.append(f'<text x="{_LEFT}" y="{top - 10}" font-weight="bold">{escape(panel.title)}</text>')
        out.append(
            f'<rect x="{x(run.OUTAGE[0])}" y="{top}" width="{float(x(run.OUTAGE[1])) - float(x(run.OUTAGE[0])):.1f}" '
            f'height="{_PANEL_H}" fill="{palette.band}"/>'
        )
        steps = 5 if f"{scale:g}"[0] in "15" else 4  # round values on every grid line
        for step in range(steps + 1):
            value = scale * step / steps
            out.append(
                f'<line x1="{_LEFT}" y1="{y(value)}" x2="{_LEFT + _PLOT_W}" y2="{y(value)}" stroke="{palette.grid}" '
                'stroke-width="0.5"/>'
            )
            out.append(f'<text x="{_LEFT - 6}" y="{float(y(value)) + 4:.1f}" text-anchor="end">{value:g}</text>')
        for minute in range(duration // 60 + 1):
            out.append(
                f'<text x="{x(minute * 60)}" y="{bottom + 16}" text-anchor="middle" fill="{palette.muted}">'
                f"{minute} min</text>"
            )
        enforce = x(run.ENFORCE_AT)
        out.append(
            f'<line x1="{enforce}" y1="{top}" x2="{enforce}" y2="{bottom}" stroke="{palette.muted}" '
            'stroke-dasharray="4,3"/>'
        )
        if index == 0:
            out.append(f'<text x="{float(enforce) + 4:.1f}" y="{top + 12}" fill="{palette.muted}">enforce</text>')
            out.append(
                f'<text x="{float(x(run.OUTAGE[0])) + 4:.1f}" y="{top + 12}" fill="{palette.muted}">store down</text>'
            )
        for number, (series, points) in enumerate(lines):
            colour = getattr(palette, series.colour)
            path = " ".join(f"{x(second)},{y(value)}" for second, value in points)
            dash = ' stroke-dasharray="6,3"' if series.dashed else ""
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            # The legend: one entry per series, in a row under the panel.
            left = _LEFT + number * 170
            out.append(
                f'<line x1="{left}" y1="{bottom + 30}" x2="{left + 22}" y2="{bottom + 30}" stroke="{colour}" '
                f'stroke-width="2"{dash}/><text x="{left + 28}" y="{bottom + 34}">{escape(series.label)}</text>'
            )
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _nice(peak: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^n that is at least ``peak`` (a round axis top)."""
    magnitude = 1.0
    while magnitude * 10 < peak:
        magnitude *= 10
    while magnitude > peak:
        magnitude /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if magnitude * factor >= peak:
            return magnitude * factor
    return magnitude * 10


def collect() -> tuple[ModuleType, list[tuple[int, dict[str, float]]]]:
    """Run the docs example once; its scrapes as (second, samples)."""
    run = load_run()
    scrapes = asyncio.run(run.run())
    return run, [(scrape.second, scrape.samples) for scrape in scrapes]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the dashboards, or with ``--check`` report whether the committed ones are current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if an SVG on disk is not current")
    args = parser.parse_args(argv)
    run, scrapes = collect()
    stale = 0
    for output, palette in OUTPUTS.items():
        svg = render_svg(scrapes, run, palette)
        if args.check:
            if not output.exists() or output.read_text(encoding="utf-8") != svg:
                print(
                    f"{output.relative_to(ROOT)} is stale: run python scripts/make_operations_dashboard.py",
                    file=sys.stderr,
                )
                stale += 1
            continue
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(svg, encoding="utf-8")
        print(f"wrote {output.relative_to(ROOT)}")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
