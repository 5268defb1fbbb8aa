"""Trend charts as SVG, drawn on the server from the published figures.

A trend chart shows one measure for one area over a run of periods (quarters, or years):

- each period's value as published, with its 95% Wilson interval for a rate (drawn from the
  same published numerator and denominator as the tables, rounded as they round);
- the nation's value for the same periods as a dashed line (not drawn for the nation itself);
- the area's target as a dotted line, when one is set for the latest period;
- a marker where a rate differs significantly from the period just before it (the
  two-proportion z-test at 95% in ``statistics.changed``; only between adjacent periods of
  the same kind, so overlapping rolling years are never compared);
- a gap, with its reason, for every period whose figure is hidden or not published.

Geometry is worked out here; the template only draws it, and a table beside each chart
gives the same figures as text. Nothing here reads the database or knows about Flask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..nation import DEFAULT_NAME
from ..statistics import changed
from .measures import MEASURES
from .periods import MONTH_NAMES
from .readings import Reading, reading
from .tables import Row
from .target_status import target_text

CHANGE_TEXT = {
    1: "Significantly higher than the period before",
    -1: "Significantly lower than the period before",
    0: "No significant change",
    None: "Not tested",
}


def short_label(period: dict[str, Any]) -> str:
    """A period's name short enough for an axis: 2026Q3, FY2025-26, 12m to Sep 2026."""
    if period["kind"] == "rolling_year":
        last = period["last"]
        return f"12m to {MONTH_NAMES[last % 12][:3]} {last // 12}"
    return period["code"]


@dataclass
class TrendPoint:
    period: dict[str, Any]
    label: str
    x: float
    area: Reading
    national: Reading | None
    change: int | None  # 1, -1, 0, or None when not tested
    y: float | None = None
    low_y: float | None = None
    high_y: float | None = None
    national_y: float | None = None

    @property
    def change_text(self) -> str:
        return CHANGE_TEXT[self.change]


@dataclass
class TrendChart:
    measure: str
    title: str
    area_name: str
    points: list[TrendPoint]
    width: int = 640
    height: int = 300
    box: tuple[int, int, int, int] = (64, 24, 620, 236)  # left, top, right, bottom
    area_path: list[str] = field(default_factory=list)  # one path per unbroken run
    national_path: list[str] = field(default_factory=list)
    national_name: str = DEFAULT_NAME
    target_y: float | None = None
    target_text: str = ""
    y_ticks: list[tuple[float, str]] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return MEASURES[self.measure].kind

    @property
    def drawn(self) -> bool:
        return any(p.y is not None for p in self.points)

    @property
    def national_label_y(self) -> float | None:
        """Where the nation's line is named: above its last point."""
        drawn = [p.national_y for p in self.points if p.national_y is not None]
        return drawn[-1] - 6 if drawn else None

    @property
    def gaps(self) -> list[tuple[str, str]]:
        return [(p.label, p.area.gap or "") for p in self.points if p.area.value is None]

    @property
    def changes(self) -> list[TrendPoint]:
        return [p for p in self.points if p.change]

    @property
    def description(self) -> str:
        shown = [f"{p.label}: {p.area.text}" for p in self.points if p.area.value is not None]
        hidden = [f"{label} not shown ({why})" for label, why in self.gaps]
        changes = [f"{p.label}: {p.change_text.lower()}" for p in self.changes]
        return (
            f"{self.title}. "
            + ("; ".join(shown) if shown else "No period has a published figure")
            + "."
            + (f" {'; '.join(hidden)}." if hidden else "")
            + (f" {'; '.join(changes)}." if changes else "")
            + " The table gives every period, with its interval and any change."
        )


def _adjacent(before: dict[str, Any], after: dict[str, Any]) -> bool:
    return before["kind"] == after["kind"] and before["last"] + 1 == after["first"]


def trend_chart(
    rows: list[tuple[dict[str, Any], Row, Row | None]],
    measure: str,
    title: str,
    *,
    area_name: str,
    national_name: str = DEFAULT_NAME,
    target: float | None = None,
) -> TrendChart:
    """``rows`` holds (period facts, the area's row, the nation's row or None), oldest
    first. Pass no nation's row when the area is the nation."""
    chart = TrendChart(measure, title, area_name, [], national_name=national_name)
    left, _, right, _ = chart.box
    previous = None
    for i, (period, row, national) in enumerate(rows):
        area = reading(row, measure, national, period["kind"], national_name)
        other = reading(national, measure) if national is not None else None
        change = None
        if (
            MEASURES[measure].kind == "rate"
            and previous is not None
            and area.n
            and previous[1].n
            and _adjacent(previous[0], period)
        ):
            change = changed(previous[1].x, previous[1].n, area.x, area.n)
        step = (right - left) / max(len(rows), 1)
        chart.points.append(
            TrendPoint(period, short_label(period), left + step * (i + 0.5), area, other, change)
        )
        previous = (period, area)
    _scale(chart, target)
    return chart


def _scale(chart: TrendChart, target: float | None) -> None:
    _, top, _, bottom = chart.box
    values = []
    for p in chart.points:
        values += [v for v in (p.area.value, p.area.low, p.area.high) if v is not None]
        if p.national is not None and p.national.value is not None:
            values.append(p.national.value)
    if target is not None:
        values.append(target)
    if chart.kind == "rate":
        low = max(0.0, math.floor(min(values, default=0.0) * 10) / 10)
        high = min(1.0, math.ceil(max(values, default=1.0) * 10) / 10)
        if high <= low:
            low, high = max(0.0, low - 0.1), min(1.0, high + 0.1)
        steps = round((high - low) * 10)
        ticks = [low + i / 10 for i in range(steps + 1)]
        tick_text = [f"{round(t * 100)}%" for t in ticks]
    else:
        low, high = 0.0, float(_nice(max(values, default=1.0) * 1.1))
        step = _nice(high / 4)
        ticks = [float(v) for v in range(0, int(high) + 1, max(int(step), 1))]
        tick_text = [f"{int(t):,}" for t in ticks]

    def sy(value: float) -> float:
        return round(bottom - (bottom - top) * (value - low) / ((high - low) or 1), 1)

    chart.y_ticks = list(zip([sy(t) for t in ticks], tick_text, strict=True))
    run: list[str] = []
    national_run: list[str] = []
    for p in chart.points:
        x = round(p.x, 1)
        if p.area.value is not None:
            p.y = sy(p.area.value)
            if p.area.low is not None:
                p.low_y, p.high_y = sy(p.area.low), sy(p.area.high)
            run.append(f"{x},{p.y}")
        else:
            _close(run, chart.area_path)
        if p.national is not None and p.national.value is not None:
            p.national_y = sy(p.national.value)
            national_run.append(f"{x},{p.national_y}")
        else:
            _close(national_run, chart.national_path)
    _close(run, chart.area_path)
    _close(national_run, chart.national_path)
    if target is not None:
        chart.target_y = sy(target)
        chart.target_text = target_text(chart.measure, target)  # as entered: "12.5%"


def _close(run: list[str], paths: list[str]) -> None:
    if run:
        paths.append("M" + " L".join(run) if len(run) > 1 else f"M{run[0]} l0,0")
        run.clear()


def _nice(value: float) -> int:
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return math.ceil(step * magnitude)
    return int(10 * magnitude)


def _by_end(rows) -> list:
    return sorted(rows, key=lambda r: (r.period["last"], r.period["kind"] != "financial_year"))


def area_charts(
    quarters, years, measure: str, *, area_name: str, national_name: str, target=None
) -> list[TrendChart]:
    """The trends page's charts from its rows (``trends.PeriodRow``): the measure by
    quarter, the measure by year, and referrals by quarter beside them."""
    label = MEASURES[measure].label
    charts = [
        trend_chart(
            [(r.period, r.area, r.national) for r in quarters],
            measure,
            f"{label} by quarter: {area_name} and {national_name}",
            area_name=area_name,
            national_name=national_name,
            target=target,
        ),
        trend_chart(
            [(r.period, r.area, r.national) for r in _by_end(years)],
            measure,
            f"{label} by year: {area_name} and {national_name}",
            area_name=area_name,
            national_name=national_name,
            target=target,
        ),
    ]
    if measure != "referrals":
        charts.append(
            trend_chart(
                [(r.period, r.area, None) for r in quarters],
                "referrals",
                f"Referrals made by quarter: {area_name}",
                area_name=area_name,
                national_name=national_name,
            )
        )
    return charts
