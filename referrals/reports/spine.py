"""The spine chart of one unit's rates against the nation, drawn on the server as SVG.

One row per rate, each on its own 0 to 100% scale: a light bar from the lowest to the
highest value shown among the units of the same grouping, a darker bar for the middle half
(lower to upper quartile), a vertical line at the nation's rate, and the unit's rate with its
95% interval, marked by the shape and colour of its comparison with the nation (so it reads
in black and white). A rate not shown is written out with the reason instead. Values are
plotted as the tables round them. Geometry is worked out here; the template only draws.
"""

from __future__ import annotations

from dataclasses import dataclass

from .colours import State, state_for
from .profiles import Line
from .tables import rounded


@dataclass
class SpineRow:
    label: str
    period: str
    y: float
    text: str  # the unit's value and comparison symbol, or why it is not shown
    national_text: str
    national_x: float | None
    range_x: tuple[float, float] | None
    middle_x: tuple[float, float] | None
    value_x: float | None
    interval_x: tuple[float, float] | None
    state: State


@dataclass
class SpineChart:
    width: int
    height: int
    left: int
    right: int
    rows: list[SpineRow]
    ticks: list[tuple[float, str]]
    title: str


def short_reason(figure) -> str:
    """Why a rate is not drawn, short enough for the chart's value column."""
    if figure.missing:
        return "not published here"
    label = figure.label or ""
    if label == "[c]":
        return "[c]: protects another figure"
    if label.startswith("<"):
        return f"{label}: small numbers"
    if label:
        return label
    return "no referrals"


def spine_chart(
    lines: list[Line], title: str, national_name: str, unit_index: int = 0
) -> SpineChart:
    left, right, width, row_height, top = 250, 790, 1000, 46, 34
    rates = [line for line in lines if line.measure.kind == "rate"]

    def x(value: float) -> float:
        return left + (right - left) * value

    rows = []
    for i, line in enumerate(rates):
        code = line.measure.code
        figure = line.rows[unit_index].rates[code]
        national = line.national.rates[code]
        y = top + i * row_height
        spread = line.spread
        value_x = interval_x = None
        if figure.available:
            ci = figure.ci95
            value_x = x(figure.shown_rate)
            interval_x = (x(rounded(ci.low)), x(rounded(ci.high)))
            text = f"{figure.text} {state_for(figure.comparison).symbol}"
        else:
            text = short_reason(figure)
        rows.append(
            SpineRow(
                line.measure.label,
                line.period.get("label", ""),
                y,
                text,
                f"{national_name} {national.text}" if national.available else "",
                x(national.shown_rate) if national.available else None,
                (x(spread.low), x(spread.high)) if spread else None,
                (x(spread.q1), x(spread.q3)) if spread else None,
                value_x,
                interval_x,
                state_for(figure.comparison),
            )
        )
    ticks = [(x(t / 4), f"{t * 25}%") for t in range(5)]
    return SpineChart(width, top + len(rows) * row_height + 24, left, right, rows, ticks, title)
