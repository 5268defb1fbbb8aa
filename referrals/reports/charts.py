"""Charts as SVG, drawn on the server: the ranked bar chart, the funnel plot and a small
static map for print. Geometry is worked out here; templates draw it (all but the bar
chart, written here: one group of shapes per area). Shapes and labels carry the meaning as
well as colour, so the charts read in black and white."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache

from markupsafe import Markup, escape

from ..statistics import Z95, Z998, Comparison, funnel_limits
from . import bp
from .colours import State, state_for
from .measures import MEASURES
from .tables import AreaTable, Row, rounded


@dataclass
class Bar:
    label: str
    value: float
    low: float
    high: float
    state: State
    y: float
    width: float
    x_low: float
    x_high: float
    text: str


@dataclass
class BarChart:
    width: int
    height: int
    left: int
    bars: list[Bar]
    national_x: float | None
    national_text: str
    ticks: list[tuple[float, str]]
    omitted: list[tuple[str, str]]
    title: str


def why_not_shown(figure) -> str:
    """Words for a rate that is not drawn."""
    if figure.missing:
        return "not published for this area"
    label = figure.label or ""
    if label == "[c]":
        return "hidden so that another figure cannot be worked out"
    counted = MEASURES[figure.name].counted if figure.name in MEASURES else "referrals"
    if label.startswith("fewer"):
        return f"{label} {counted}"
    if label.startswith("<"):
        return "small numbers"
    if label == "not published":
        return "not published, to protect small numbers"
    return f"no {counted}"


def bar_chart(table: AreaTable, measure: str, title: str) -> BarChart:
    """Areas ranked by a rate, with 95% interval whiskers and the nation's line."""
    left, width, row_height = 230, 760, 22
    plotted = [r for r in table.rows if r.rates[measure].available]
    omitted = [
        (r.name, why_not_shown(r.rates[measure]))
        for r in table.rows
        if not r.rates[measure].available
    ]
    plotted.sort(key=lambda r: (-r.rates[measure].shown_rate, r.name))
    top = max((r.rates[measure].ci95.high for r in plotted), default=1.0)
    top = min(1.0, math.ceil(top * 10) / 10 + 0.05) or 1.0
    span = width - left - 20

    def x(value: float) -> float:
        return left + span * value / top

    bars = []
    for i, row in enumerate(plotted):
        figure = row.rates[measure]
        ci = figure.ci95
        low, high = rounded(ci.low), rounded(ci.high)
        bars.append(
            Bar(
                row.name,
                figure.shown_rate,
                low,
                high,
                state_for(figure.comparison),
                30 + i * row_height,
                x(figure.shown_rate) - left,
                x(low),
                x(high),
                figure.text,
            )
        )
    national = table.national.rates[measure]
    ticks = [(x(t / 10), f"{t * 10}%") for t in range(0, round(top * 10) + 1)]
    return BarChart(
        width,
        50 + len(bars) * row_height,
        left,
        bars,
        x(national.shown_rate) if national.available else None,
        national.text,
        ticks,
        omitted,
        title,
    )


@lru_cache(maxsize=16)
def _colour_and_symbol(state: State) -> tuple[Markup, Markup]:
    return escape(state.colour), escape(state.symbol)


@bp.app_template_global("bar_chart_html")
def bar_chart_svg(chart: BarChart, national_name: str) -> Markup:
    """The whole bar chart as the ``bar_chart_svg`` macro of ``reports/_macros.html`` wrote
    it (whitespace included): its axis, bars, the nation's line and what is not drawn."""
    height, e = chart.height, escape
    out = [
        '\n<figure class="chart">\n'
        f'<svg viewBox="0 0 {chart.width} {height}" width="100%" role="img" '
        'aria-labelledby="bars-title bars-desc" class="bar-chart">\n'
        f'  <title id="bars-title">{e(chart.title)}</title>\n'
        '  <desc id="bars-desc">Areas ranked from highest to lowest, each bar with its 95% '
        f"interval; the dashed line is {e(national_name)} at {e(chart.national_text)}. The "
        "table above has the same figures.</desc>\n  "
    ]
    for x, label in chart.ticks:
        out.append(
            f'\n  <line x1="{x}" x2="{x}" y1="22" y2="{height - 18}" class="grid"/>'
            f'\n  <text x="{x}" y="{height - 4}" text-anchor="middle" class="tick">'
            f"{e(label)}</text>\n  "
        )
    out.append(f"\n  {bar_rows_svg(chart)}\n  ")
    if chart.national_x is not None:
        x = chart.national_x
        out.append(
            f'\n  <line x1="{x}" x2="{x}" y1="18" y2="{height - 18}" class="national"/>'
            f'\n  <text x="{x + 4}" y="14" class="national-label">{e(national_name)} '
            f"{e(chart.national_text)}</text>\n  "
        )
    out.append("\n</svg>\n")
    if chart.omitted:
        reasons = "; ".join(f"{e(name)} ({e(why)})" for name, why in chart.omitted)
        out.append(f'<figcaption class="muted">Not drawn: {reasons}.</figcaption>')
    out.append("\n</figure>\n")
    return Markup("".join(out))  # noqa: S704 - names and words escaped above


def bar_rows_svg(chart: BarChart) -> Markup:
    """The bar chart's bars, each with its label, 95% whiskers and value (the one part of
    the chart drawn once per area, so written here rather than by the template)."""
    label_x = chart.left - 8
    out = []
    for bar in chart.bars:
        y, low, high = bar.y, f"{bar.x_low:.1f}", f"{bar.x_high:.1f}"
        colour, symbol = _colour_and_symbol(bar.state)
        out.append(
            f'\n  <text x="{label_x}" y="{y + 13}" text-anchor="end" class="bar-label">'
            f"{escape(bar.label)}</text>"
            f'\n  <rect x="{chart.left}" y="{y + 2}" width="{bar.width:.1f}" height="16" '
            f'fill="{colour}" stroke="#0b0c0c" stroke-width="0.8"/>'
            f'\n  <line x1="{low}" x2="{high}" y1="{y + 10}" y2="{y + 10}" class="whisker"/>'
            f'\n  <line x1="{low}" x2="{low}" y1="{y + 5}" y2="{y + 15}" class="whisker"/>'
            f'\n  <line x1="{high}" x2="{high}" y1="{y + 5}" y2="{y + 15}" class="whisker"/>'
            f'\n  <text x="{bar.x_high + 6:.1f}" y="{y + 14}" class="bar-value">'
            f"{escape(bar.text)} {symbol}</text>\n  "
        )
    return Markup("".join(out))  # noqa: S704 - names and words escaped above


@dataclass
class FunnelPoint:
    label: str
    n: int
    rate: float  # exact: where it is drawn
    x: float
    y: float
    state: State
    labelled: bool
    text: str = ""  # the rate as the tables show it (to 0.1%)


@dataclass
class FunnelPlot:
    width: int
    height: int
    points: list[FunnelPoint]
    national_y: float | None
    national_text: str
    limits: dict[str, str] = field(default_factory=dict)  # name -> SVG path
    x_ticks: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    omitted: list[tuple[str, str]] = field(default_factory=list)
    title: str = ""
    box: tuple[int, int, int, int] = (70, 20, 880, 400)  # left, top, right, bottom


def funnel_plot(table: AreaTable, measure: str, title: str) -> FunnelPlot:
    """Each area's rate against its denominator, with the nation's rate and the 95% and
    99.8% control limits; areas outside the 95% limits are labelled by name."""
    plot = FunnelPlot(920, 460, [], None, "", title=title)
    left, top, right, bottom = plot.box
    rows: list[Row] = [r for r in table.rows if r.rates[measure].available]
    plot.omitted = [
        (r.name, why_not_shown(r.rates[measure]))
        for r in table.rows
        if not r.rates[measure].available
    ]
    national = table.national.rates[measure]
    # Drawn at the exact rates, as the comparison that colours each point uses them:
    # a point coloured as outside a limit is drawn outside it (labels stay rounded).
    p0 = national.rate
    max_n = max((r.rates[measure].n for r in rows), default=10)
    max_n = max(10, _nice_ceiling(max_n * 1.05))
    rates = [r.rates[measure].rate for r in rows] + ([p0] if p0 is not None else [])
    low_rate = max(0.0, math.floor((min(rates, default=0) - 0.05) * 10) / 10)
    high_rate = min(1.0, math.ceil((max(rates, default=1) + 0.05) * 10) / 10)
    if p0 is not None:  # leave room for the 99.8% limits at small denominators
        limit = funnel_limits(p0, max(5, max_n // 50), Z998)
        low_rate = max(0.0, min(low_rate, math.floor(limit.low * 10) / 10))
        high_rate = min(1.0, max(high_rate, math.ceil(limit.high * 10) / 10))

    def sx(n: float) -> float:
        return left + (right - left) * n / max_n

    def sy(rate: float) -> float:
        rate = min(max(rate, low_rate), high_rate)
        return bottom - (bottom - top) * (rate - low_rate) / ((high_rate - low_rate) or 1)

    if p0 is not None:
        plot.national_y = sy(p0)
        plot.national_text = national.text
        for name, z in (("95", Z95), ("998", Z998)):
            for side in ("low", "high"):
                points = []
                for i in range(1, 201):
                    n = max(max_n * (i / 200) ** 2, 1)
                    limit = funnel_limits(p0, n, z)
                    points.append((sx(n), sy(getattr(limit, side))))
                plot.limits[f"{name}_{side}"] = "M" + " L".join(
                    f"{x:.1f},{y:.1f}" for x, y in points
                )
    for row in rows:
        figure = row.rates[measure]
        state = state_for(figure.comparison)
        outside = figure.comparison not in (Comparison.SIMILAR, Comparison.NOT_COMPARED)
        value = figure.rate
        plot.points.append(
            FunnelPoint(
                row.name, figure.n, value, sx(figure.n), sy(value), state, outside, figure.text
            )
        )
    plot.x_ticks = [(sx(v), f"{v:,}") for v in _ticks(max_n)]
    plot.y_ticks = [
        (sy(v / 10), f"{v * 10}%") for v in range(round(low_rate * 10), round(high_rate * 10) + 1)
    ]
    return plot


def _nice_ceiling(value: float) -> int:
    if value <= 0:
        return 10
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return int(step * magnitude)
    return int(10 * magnitude)


def _ticks(maximum: int) -> list[int]:
    step = _nice_ceiling(maximum / 5)
    return list(range(0, maximum + 1, max(step, 1)))


@dataclass
class MapShape:
    name: str
    path: str | None
    cx: float
    cy: float
    r: float
    colour: str
    text: str


def static_map(
    areas: list[tuple[Row, str, float, float, list | None]], width: int = 420, height: int = 520
) -> list[MapShape]:
    """A small printable map: boundaries when loaded, otherwise a circle per area at its
    centre. ``areas`` holds (row, colour, latitude, longitude, rings or None)."""
    lats = [a[2] for a in areas] + [54.6, 60.9]
    lons = [a[3] for a in areas] + [-7.6, -0.7]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    scale_x = math.cos(math.radians((south + north) / 2))
    span_x = (east - west) * scale_x
    span_y = north - south
    scale = min((width - 20) / span_x, (height - 20) / span_y)

    def project(lat: float, lon: float) -> tuple[float, float]:
        return 10 + (lon - west) * scale_x * scale, 10 + (north - lat) * scale

    shapes = []
    largest = max((a[0].counts["made"].value or 0 for a in areas), default=1) or 1
    for row, colour, lat, lon, rings in areas:
        cx, cy = project(lat, lon)
        path = None
        if rings:
            parts = []
            for ring in rings:
                pts = [project(p[1], p[0]) for p in ring]
                parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in pts) + " Z")
            path = " ".join(parts)
        made = row.counts["made"]
        radius = 3 if not made.shown else 3 + 15 * math.sqrt(made.value / largest)
        shapes.append(MapShape(row.name, path, cx, cy, radius, colour, row.name))
    return shapes


def polygon_rings(geojson_text: str) -> list:
    """The outer rings of a (Multi)Polygon GeoJSON geometry, as [lon, lat] lists."""
    geometry = json.loads(geojson_text)
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    if geometry["type"] == "MultiPolygon":
        return [polygon[0] for polygon in geometry["coordinates"]]
    return []
