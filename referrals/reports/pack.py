"""The quarterly pack: one area's published figures for one quarter, for a board paper.

For a chosen quarter and a chosen police division, ADP, arrest referral scheme or the whole
nation (the nation's pack is the paper for the police authority), the pack holds, for every
measure in ``measures.MEASURES``:

- the quarter's figure, beside the nation's (single-quarter rates are published only for
  the nation and the largest areas, so for most areas a rate's quarter shows why it is not);
- the latest year's figure (the 12 months or financial year ending at or before the
  quarter's end that the measure has been followed up for), with its interval, its
  comparison with the nation and the status against the target that applies to that year
  (green, amber or red, in words; ``target_status`` says which applies);
- the trend over the 8 quarters up to the quarter, as a chart with its table and the
  target that applies to the quarter.

Every figure is read from the day's published, protected figures (``snapshot``), exactly
as the other report pages show them: the pack adds no figure of its own. Nothing here knows
about Flask.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaGroup, CouncilArea
from ..nation import DEFAULT_NAME
from ..statistics import Comparison
from .colours import State, state_for
from .measures import GROUPING_LABELS, MEASURES, Measure
from .readings import Reading, reading
from .snapshot import Snapshot
from .tables import FAMILY, Row, area_names, make_row
from .target_status import Status, status, target_for
from .trend_charts import TrendChart, trend_chart

PACK_QUARTERS = 8
# The areas a pack is made for, in the order the list offers them ("scheme" once the
# reports group by arrest referral scheme).
PACK_GROUPINGS = ("police_division", "adp", "scheme")


def pack_groupings() -> list[str]:
    return [g for g in PACK_GROUPINGS if g in FAMILY]


def area_choices(session: Session, national_name: str) -> list[tuple[str, list[tuple]]]:
    """(group label, [(value, name)]) for the area list: the nation first, then each kind."""
    choices = [(national_name, [("national", f"{national_name} (the police authority paper)")])]
    for grouping in pack_groupings():
        areas = [(f"{grouping}:{code}", name) for _, code, name in area_names(session, grouping)]
        if areas:
            choices.append((GROUPING_LABELS[grouping], areas))
    return choices


def default_area(session: Session, council_ids: list[int]) -> str:
    """A lead's pack opens on the police division of their first council area."""
    if not council_ids:
        return "national"
    code = session.scalar(
        sa.select(AreaGroup.code)
        .join(CouncilArea, CouncilArea.police_division_id == AreaGroup.id)
        .where(CouncilArea.id.in_(council_ids))
        .order_by(CouncilArea.name)
        .limit(1)
    )
    return f"police_division:{code}" if code else "national"


def quarters(snapshot: Snapshot) -> list[dict[str, Any]]:
    """The quarters a pack can be made for, latest first."""
    found = [p for p in snapshot.periods.values() if p["kind"] == "quarter"]
    return sorted(found, key=lambda p: -p["last"])


@dataclass
class Line:
    """One measure in the pack."""

    measure: Measure
    quarter: Reading
    quarter_national: Reading
    year: Reading
    year_national: Reading
    year_period: dict[str, Any] | None
    comparison: State | None
    status: Status
    chart: TrendChart


@dataclass
class Pack:
    grouping: str  # "national" or a grouping
    code: str
    name: str
    kind_label: str
    quarter: dict[str, Any]
    as_of: dt.date
    settings: dict[str, Any]
    national_name: str
    lines: list[Line] = field(default_factory=list)

    @property
    def national(self) -> bool:
        return self.grouping == "national"

    @property
    def value(self) -> str:
        return "national" if self.national else f"{self.grouping}:{self.code}"

    @property
    def hidden(self) -> list[tuple[str, int]]:
        """How many of the pack's figures for the area are hidden, by label."""
        counts: dict[str, int] = {}
        for line in self.lines:
            earlier = [
                p.area.text for p in line.chart.points if p.period["code"] != self.quarter["code"]
            ]
            for text in [line.quarter.text, line.year.text, *earlier]:
                if text.startswith(("<", "fewer", "[c]", "not published")):
                    counts[text] = counts.get(text, 0) + 1
        return sorted(counts.items())


def parse_area(value: str) -> tuple[str, str]:
    grouping, _, code = (value or "").partition(":")
    return (grouping, code) if grouping != "national" else ("national", "")


def build_pack(
    session: Session,
    snapshot: Snapshot,
    grouping: str,
    code: str,
    quarter: dict[str, Any],
    *,
    national_name: str = DEFAULT_NAME,
) -> Pack | None:
    """The pack for one area (``grouping`` "national" for the nation) and quarter, or None
    when there is no such area."""
    if grouping == "national":
        name, kind_label = national_name, national_name
    else:
        if grouping not in pack_groupings():
            return None
        names = {c: n for _, c, n in area_names(session, grouping)}
        if code not in names:
            return None
        name, kind_label = names[code], GROUPING_LABELS[grouping]
    pack = Pack(
        grouping,
        code,
        name,
        kind_label,
        quarter,
        snapshot.as_of,
        snapshot.settings,
        national_name,
    )
    family = FAMILY["council" if grouping == "national" else grouping]
    key = "national" if grouping == "national" else f"{grouping}:{code}"

    def rows(period_code: str) -> tuple[Row, Row]:
        part = snapshot.part(family, period_code)
        national = part.get("national", {})
        area = make_row(key, code, name, part.get(key, {}), national)
        return area, make_row("national", "national", national_name, national, national)

    recent = [
        p
        for p in quarters(snapshot)
        if p["last"] <= quarter["last"] and (pack.national or not p["scotland_only"])
    ][:PACK_QUARTERS][::-1]
    trend_rows = [(p, *rows(p["code"])) for p in recent]
    quarter_area, quarter_national = rows(quarter["code"])
    for measure in MEASURES.values():
        year_period = _year_for(snapshot, measure.code, quarter, pack.national)
        if year_period:
            year_area, year_national = rows(year_period["code"])
            year = reading(
                year_area, measure.code, year_national, year_period["kind"], national_name
            )
            year_nat = reading(year_national, measure.code)
            comparison = (
                state_for(year_area.comparison(measure.code))
                if measure.kind == "rate" and not pack.national and year.value is not None
                else None
            )
            target = _target(session, grouping, code, measure.code, year_period)
        else:
            year = year_nat = Reading(None, "\u2013", gap="not yet followed up for long enough")
            comparison, target = None, None
        # The chart's quarters are measured against the quarter's target, not the year's.
        on_chart = _target(session, grouping, code, measure.code, quarter)
        chart = trend_chart(
            [(p, area, None if pack.national else nat) for p, area, nat in trend_rows],
            measure.code,
            f"{measure.label} by quarter: {name}"
            + ("" if pack.national else f" and {national_name}"),
            area_name=name,
            national_name=national_name,
            target=on_chart.value if on_chart else None,
        )
        pack.lines.append(
            Line(
                measure,
                reading(quarter_area, measure.code, quarter_national, "quarter", national_name),
                reading(quarter_national, measure.code),
                year,
                year_nat,
                year_period,
                comparison
                if comparison is None or comparison.key != Comparison.NOT_COMPARED
                else None,
                status(measure.code, year.value, target, year.text),
                chart,
            )
        )
    return pack


def _year_for(
    snapshot: Snapshot, measure: str, quarter: dict[str, Any], national: bool
) -> dict[str, Any] | None:
    """The latest 12 months or financial year, ending by the quarter's end, for which the
    measure is published for the area (for the nation: published at all)."""
    published = "scotland" if national else "below"
    candidates = [
        p
        for p in snapshot.periods.values()
        if p["kind"] in ("rolling_year", "financial_year")
        and p["last"] <= quarter["last"]
        and (measure in p.get(published, ()) or MEASURES[measure].kind == "days")
        and (national or not p["scotland_only"])
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p["last"], p["kind"] == "rolling_year"))


def _target(session, grouping: str, code: str, measure: str, period: dict):
    """The area's target for ``measure`` that applies to ``period`` (a snapshot period)."""
    start, end = (dt.date.fromisoformat(period[key]) for key in ("start", "end"))
    return target_for(session, grouping, code, measure, start, end)
