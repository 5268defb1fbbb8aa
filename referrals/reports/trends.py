"""Trends: one area's figures for each quarter and each year, beside the nation's.

Quarterly rates are published for the nation and for police divisions and health boards large
enough for them; every area has its quarterly referrals and its rates for each financial
year and the latest 12 months."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template, request
from flask_login import current_user

from ..extensions import db
from . import bp
from .measures import MEASURES
from .own import own_codes
from .params import AREA_GROUPINGS, read_choices
from .tables import FAMILY, Row, area_codes, make_row
from .target_status import target_for
from .trend_charts import area_charts
from .views import national_name

QUARTERS_SHOWN = 8
# Counts shown beside the rates, period by period (near-fatal overdoses for their trend).
TREND_COUNTS = ("near_fatal_overdose", "children_affected", "contacts")


@dataclass
class PeriodRow:
    period: dict
    area: Row
    national: Row


def series(
    snapshot, grouping: str, code: str, kind: str, limit: int, until=None
) -> list[PeriodRow]:
    """The area's and the nation's figures for the latest ``limit`` periods of ``kind``
    (the latest ending by ``until``, a period's ``last``, when given)."""
    periods = sorted(
        (
            p
            for p in snapshot.periods.values()
            if p["kind"] == kind
            and not p["scotland_only"]
            and (until is None or p["last"] <= until)
        ),
        key=lambda p: p["last"],
    )[-limit:]
    rows = []
    for period in periods:
        part = snapshot.part(FAMILY[grouping], period["code"])
        national = part.get("national", {})
        entry = part.get(f"{grouping}:{code}", {})
        rows.append(
            PeriodRow(
                period,
                make_row(code, code, "", entry, national),
                make_row("national", "national", national_name(), national, national),
            )
        )
    return rows


@bp.get("/trends")
def trends():
    choices = read_choices(request.args, groupings=AREA_GROUPINGS)
    grouping = choices.grouping if choices.grouping in AREA_GROUPINGS else "council"
    codes = area_codes(db.session, grouping)
    own = [c for c in codes if c in own_codes(db.session, current_user, grouping)]
    code = request.args.get("area") or next(iter(own or codes), None)
    valid = choices.valid
    if code not in codes:
        choices.form.group.errors.append("Choose an area from the list.")
        valid = False
    quarters = years = charts = []
    measure = choices.measure if choices.measure in MEASURES else "conversion_rate"
    if valid:
        quarters = series(choices.snapshot, grouping, code, "quarter", QUARTERS_SHOWN)
        years = series(choices.snapshot, grouping, code, "financial_year", 4)
        years += series(choices.snapshot, grouping, code, "rolling_year", 3)
        charts = _charts(grouping, code, codes[code], measure, quarters, years)
    return (
        render_template(
            "reports/trends.html",
            choices=choices,
            codes=codes,
            code=code,
            quarters=quarters,
            years=years,
            measure=measure,
            charts=charts,
            TREND_COUNTS=TREND_COUNTS,
        ),
        200 if valid else 400,
    )


def _charts(grouping: str, code: str, name: str, measure: str, quarters, years) -> list:
    """The charts, each with the target that applies to its latest period
    (``target_status``): a year's rate target across its quarters, a year's count target
    only on the years."""
    by_quarter = _target(grouping, code, measure, quarters)
    by_year = _target(grouping, code, measure, years)
    charts = area_charts(
        quarters, years, measure, area_name=name, national_name=national_name(), target=by_quarter
    )
    if by_year != by_quarter:  # area_charts gives both charts one target
        charts[1] = area_charts(
            quarters, years, measure, area_name=name, national_name=national_name(), target=by_year
        )[1]
    return charts


def _target(grouping: str, code: str, measure: str, rows: list[PeriodRow]) -> float | None:
    """The value of the target that applies to the latest of ``rows``' periods (the
    financial year and the 12 months ending the same month are the same months)."""
    if not rows:
        return None
    latest = max((r.period for r in rows), key=lambda p: p["last"])
    found = target_for(
        db.session,
        grouping,
        code,
        measure,
        dt.date.fromisoformat(latest["start"]),
        dt.date.fromisoformat(latest["end"]),
    )
    return found.value if found else None
