"""Trends: one area's figures for each quarter and each year, beside the nation's.

Quarterly rates are published for the nation and for police divisions and health boards large
enough for them; every area has its quarterly referrals and its rates for each financial
year and the latest 12 months."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request
from flask_login import current_user

from ..extensions import db
from . import bp
from .measures import RATES
from .own import own_codes
from .params import AREA_GROUPINGS, read_choices
from .tables import FAMILY, Row, area_codes, make_row
from .views import national_name

QUARTERS_SHOWN = 8
# Counts shown beside the rates, period by period (near-fatal overdoses for their trend).
TREND_COUNTS = ("near_fatal_overdose", "children_affected", "contacts")


@dataclass
class PeriodRow:
    period: dict
    area: Row
    national: Row


def series(snapshot, grouping: str, code: str, kind: str, limit: int) -> list[PeriodRow]:
    """The area's and the nation's figures for the latest ``limit`` periods of ``kind``."""
    periods = sorted(
        (p for p in snapshot.periods.values() if p["kind"] == kind and not p["scotland_only"]),
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
    quarters = years = []
    if valid:
        quarters = series(choices.snapshot, grouping, code, "quarter", QUARTERS_SHOWN)
        years = series(choices.snapshot, grouping, code, "financial_year", 4)
        years += series(choices.snapshot, grouping, code, "rolling_year", 3)
    return (
        render_template(
            "reports/trends.html",
            choices=choices,
            codes=codes,
            code=code,
            quarters=quarters,
            years=years,
            measure=choices.measure if choices.measure in RATES else "conversion_rate",
            TREND_COUNTS=TREND_COUNTS,
        ),
        200 if valid else 400,
    )
