"""Trends: each measure by quarter for one area beside Scotland, with intervals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template, request

from ..clock import today_local
from ..extensions import db
from . import bp
from .disclosure import Cells, Hidden, Relation, protect
from .measures import GEOGRAPHIES, RATES
from .params import quarter_bounds, quarter_of, quarters_between
from .tables import SHOWN_COUNTS, AreaTable, Row, area_codes, area_table
from .views import read_choices, threshold

DEFAULT_QUARTERS = 8


@dataclass
class QuarterRow:
    quarter: str
    area: Row | None
    national: Row


def quarterly_rows(choices, code: str | None, quarters: list[str]) -> list[QuarterRow]:
    """Each quarter's protected figures for the area and Scotland, with the quarters also
    protected against their own total (so no quarter can be worked out from the others
    and a report for the whole span)."""
    tables: list[tuple[str, AreaTable]] = []
    for quarter in quarters:
        start, end = quarter_bounds(quarter)
        params = choices.params.with_period(start, min(end, choices.params.as_of))
        tables.append(
            (
                quarter,
                area_table(
                    db.session,
                    choices.grouping,
                    params,
                    threshold=threshold(),
                    measure=choices.measure,
                ),
            )
        )
    rows = []
    for quarter, table in tables:
        area = next((r for r in table.rows if r.code == code), None)
        rows.append(QuarterRow(quarter, area, table.national))
    areas = [r.area for r in rows if r.area is not None]
    if areas:
        _protect_across_quarters(areas)
    return rows


def _protect_across_quarters(areas: list[Row]) -> None:
    limit = threshold()
    cells = Cells(counts={}, rates={})
    initial = Hidden()
    for i, row in enumerate(areas):
        cells.counts[i] = {n: f.value for n, f in row.counts.items()}
        cells.rates[i] = {n: (f.numerator, f.n) for n, f in row.rates.items()}
        initial.counts |= {(i, n) for n, f in row.counts.items() if f.hidden}
        initial.rates |= {(i, n) for n, f in row.rates.items() if f.hidden}
    cells.counts["total"] = {n: sum(c[n] for c in cells.counts.values()) for n in SHOWN_COUNTS}
    cells.rates["total"] = {
        n: (
            sum(cells.rates[i][n][0] for i in range(len(areas))),
            sum(cells.rates[i][n][1] for i in range(len(areas))),
        )
        for n in RATES
    }
    hidden = protect(cells, [Relation("total", tuple(range(len(areas))))], limit, initial)
    for i, row in enumerate(areas):
        for name, figure in row.counts.items():
            figure.hidden = hidden.count(i, name)
        for name, figure in row.rates.items():
            figure.hidden = hidden.rate(i, name)


@bp.get("/trends")
def trends():
    choices = read_choices(geographies_only=True)
    codes = area_codes(db.session, choices.grouping) if choices.grouping in GEOGRAPHIES else {}
    code = request.args.get("area") or next(iter(codes), None)
    if code not in codes:
        choices.valid = False
        choices.form.group.errors.append("Choose an area from the list.")
    today = today_local()
    end = choices.form.to.data or today
    start = choices.form.from_.data or quarter_bounds(quarter_of(end))[0] - dt.timedelta(
        days=91 * (DEFAULT_QUARTERS - 1)
    )
    quarters = quarters_between(start, min(end, today))[-12:]
    rows = quarterly_rows(choices, code, quarters) if choices.valid else []
    return (
        render_template(
            "reports/trends.html",
            choices=choices,
            codes=codes,
            code=code,
            rows=rows,
            measure=choices.measure if choices.measure in RATES else "conversion_rate",
        ),
        200 if choices.valid else 400,
    )
