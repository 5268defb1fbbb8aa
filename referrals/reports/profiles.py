"""Units against the nation, measure by measure, from the day's published figures.

For each measure published below the nation (every measure of ``MEASURES`` that is not
for the nation only) a *line* holds:

- the period it is for: the chosen period, or, for a rate that period has not been
  followed up for yet, the latest 12 months that have been (so every rate has a figure);
- each unit's figures in that period and the nation's, as the area table shows them (hidden
  figures stay hidden, with their label);
- the national spread: the lowest, lower quartile, upper quartile and highest value shown
  among all units of the same grouping (quartiles by the nearest-rank rule: the smallest
  shown value that at least a quarter, or three quarters, of the shown values do not
  exceed). Hidden values are left out of the spread, so it never gives one away.

Nothing is counted here: every figure is read from the protected snapshot, so a profile
shows exactly what the area table, map and CSV show.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .measures import MEASURES, Measure
from .own import Unit
from .snapshot import Snapshot
from .tables import FAMILY, Row, TargetFigure, make_row

TREND_QUARTERS = 8
TREND_YEARS = 4


@dataclass
class Spread:
    low: float
    q1: float
    q3: float
    high: float
    count: int  # units with a shown value
    kind: str = "rate"

    @property
    def text(self) -> str:
        def show(value: float) -> str:
            if self.kind == "rate":
                return f"{100 * value:.1f}%"
            return f"{value:,.0f}" if self.kind == "count" else f"{value:g}"

        return f"{show(self.low)} to {show(self.high)}"


@dataclass
class Line:
    measure: Measure
    period: dict[str, Any]
    rows: list[Row]  # one per unit, in the order asked
    national: Row
    spread: Spread | None = None
    elsewhere: bool = False  # the period is not the one chosen (not yet followed up)
    target: TargetFigure | None = None  # the first unit's, for areas with targets


@dataclass
class TrendPoint:
    period: dict[str, Any]
    row: Row
    national: Row


@dataclass
class Profile:
    units: list[Unit]
    period: dict[str, Any]
    lines: list[Line]
    quarters: list[TrendPoint] = field(default_factory=list)  # the first unit's only
    years: list[TrendPoint] = field(default_factory=list)


def profile_measures() -> list[Measure]:
    return [m for m in MEASURES.values() if not m.scotland_only]


def nearest_rank(values: list[float], share: float) -> float:
    """The smallest value that at least ``share`` of ``values`` (sorted) do not exceed."""
    return values[max(0, math.ceil(share * len(values)) - 1)]


def spread(rows: list[Row], measure: Measure) -> Spread | None:
    values = sorted(v for r in rows if (v := r.measure_value(measure.code)) is not None)
    if not values:
        return None
    q1, q3 = nearest_rank(values, 0.25), nearest_rank(values, 0.75)
    return Spread(values[0], q1, q3, values[-1], len(values), measure.kind)


def unit_row(snapshot: Snapshot, unit: Unit, period: str) -> tuple[Row, Row]:
    """One unit's figures and the nation's in a period, as published."""
    facts = snapshot.period(period) or {}
    part = snapshot.part(FAMILY[unit.grouping], period)
    national = part.get("national", {})
    entry = part.get(unit.key)
    missing = None
    if facts.get("scotland_only"):
        missing = "published for the whole nation only"
    elif entry is None and unit.grouping in ("service", "provider"):
        missing = "no referrals in this period"
    row = make_row(unit.key, unit.code, unit.name, entry or {}, national, missing)
    return row, make_row("national", "national", "", national, national)


def _grouping_rows(snapshot: Snapshot, grouping: str, period: str) -> list[Row]:
    part = snapshot.part(FAMILY[grouping], period)
    national = part.get("national", {})
    prefix = f"{grouping}:"
    return [make_row(k, k, k, e, national) for k, e in part.items() if k.startswith(prefix)]


def measure_period(snapshot: Snapshot, measure: Measure, period: str) -> str:
    """The chosen period when ``measure`` is published below the nation for it, otherwise the
    latest 12 months it is published for."""
    facts = snapshot.period(period) or {}
    if measure.code in facts.get("below", ()) or measure.kind != "rate":
        return period
    return snapshot.settings.get("latest_for", {}).get(measure.code, period)


def against_national(
    snapshot: Snapshot, units: list[Unit], period: str, *, with_spread: bool = False
) -> list[Line]:
    """Every measure for ``units`` beside the nation (see the module's words)."""
    lines = []
    rows_cache: dict[tuple[str, str], tuple[Row, Row]] = {}
    spread_cache: dict[tuple[str, str], list[Row]] = {}
    for measure in profile_measures():
        code = measure_period(snapshot, measure, period)
        facts = snapshot.period(code)
        if not facts:
            continue
        rows = []
        national = None
        for unit in units:
            key = (unit.key, code)
            if key not in rows_cache:
                rows_cache[key] = unit_row(snapshot, unit, code)
            row, national = rows_cache[key]
            rows.append(row)
        if national is None:
            continue
        line = Line(measure, facts, rows, national, elsewhere=code != period)
        if with_spread and units:
            grouping = units[0].grouping
            if (grouping, code) not in spread_cache:
                spread_cache[(grouping, code)] = _grouping_rows(snapshot, grouping, code)
            line.spread = spread(spread_cache[(grouping, code)], measure)
        lines.append(line)
    return lines


def trend(snapshot: Snapshot, unit: Unit, kind: str, limit: int) -> list[TrendPoint]:
    """The unit's and the nation's figures in the latest ``limit`` periods of ``kind``."""
    periods = sorted(
        (p for p in snapshot.periods.values() if p["kind"] == kind and not p["scotland_only"]),
        key=lambda p: p["last"],
    )[-limit:]
    points = []
    for facts in periods:
        row, national = unit_row(snapshot, unit, facts["code"])
        points.append(TrendPoint(facts, row, national))
    return points


def profile(snapshot: Snapshot, unit: Unit, period: str) -> Profile:
    """One unit's page: every measure against the nation with the spread, and its trend."""
    years = trend(snapshot, unit, "financial_year", TREND_YEARS)
    years += trend(snapshot, unit, "rolling_year", 1)
    return Profile(
        [unit],
        snapshot.period(period) or {},
        against_national(snapshot, [unit], period, with_spread=True),
        trend(snapshot, unit, "quarter", TREND_QUARTERS),
        years,
    )
