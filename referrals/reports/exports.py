"""The protected figures as CSV, fit for analysts: one row per area and measure, numbers as
plain numbers (2647, 0.175), numerator and denominator beside each rate with its intervals,
and the reason a figure is not shown in its own column (``value_note``), never as text in
a number column. Every row names its period and the date the figures are as at."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator

from flask import Response

from .. import nation
from ..csvsafe import csv_cell
from .measures import GROUPING_LABELS, MEASURES, RATES, RETENTION_DAYS
from .tables import AreaTable, Row

HEADER = [
    "as_of",
    "period",
    "period_label",
    "area_type",
    "area_code",
    "area",
    "people",
    "measure",
    "measure_label",
    "value",
    "numerator",
    "denominator",
    "ci95_low",
    "ci95_high",
    "ci998_low",
    "ci998_high",
    "compared_with_national",
    "value_note",
    "target",
    "rag",
]
MEASURES_IN_TABLE = (
    "referrals",
    *RATES,
    "median_days_to_treatment",
    "near_fatal_overdose",
    "children_affected",
    "contacts",
)


def _number(value: float | None, places: int = 6):
    return "" if value is None else round(value, places)


def measure_cells(row: Row, measure: str, national: bool) -> list:
    """value, numerator, denominator, intervals, comparison and note for one measure."""
    if measure in RATES:
        figure = row.rates[measure]
        if not figure.available:
            note = figure.label or ("not published for these areas" if figure.missing else "")
            return ["", "", "", "", "", "", "", "", note]
        ci95, ci998 = figure.ci95, figure.ci998
        return [
            _number(figure.rate),
            figure.numerator,
            figure.n,
            _number(ci95.low),
            _number(ci95.high),
            _number(ci998.low),
            _number(ci998.high),
            "" if national else figure.comparison.value,
            "",
        ]
    if measure == "median_days_to_treatment":
        wait = row.to_treatment
        value = "" if wait.hidden or not wait.n else wait.median
        # The number of waits behind the median is the count of treatment starts, which
        # the rates protect: published beside every median, areas would give away the
        # hidden ones by subtraction. Only whether there are 10 or more is told.
        return [value, "", "", "", "", "", "", "", wait.label or ""]
    figure = row.counts["made" if measure == "referrals" else measure]
    if not figure.shown:
        note = figure.label or ("not published for these areas" if figure.missing else "")
        return ["", "", "", "", "", "", "", "", note]
    return [figure.value, "", "", "", "", "", "", "", ""]


def area_rows(table: AreaTable, as_of: dt.date) -> Iterator[list]:
    yield HEADER
    period = table.period
    for row in [*table.rows, table.national]:
        national = row.national
        for measure in MEASURES_IN_TABLE:
            target = row.target if row.target and row.target.measure.code == measure else None
            yield [
                as_of.isoformat(),
                period.get("code", ""),
                period.get("label", ""),
                "national" if national else GROUPING_LABELS[table.grouping],
                "" if national else row.code,
                row.name,
                table.group,
                measure,
                MEASURES[measure].label,
                *measure_cells(row, measure, national),
                "" if target is None else target.value,
                "" if target is None else target.rag,
            ]


def csv_response(rows: Iterable[list], filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for line in rows:
        writer.writerow([csv_cell(cell) for cell in line])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def definition_rows(settings: dict) -> Iterator[list]:
    """The measures and the protection thresholds, one row per measure."""
    days = {
        "engagement": settings.get("engagement_days", 28),
        "treatment": settings.get("treatment_days", 84),
        "retention": settings.get("treatment_days", 84) + RETENTION_DAYS,
    }
    yield [
        "measure",
        "label",
        "kind",
        "numerator",
        "denominator",
        "follow_up_days",
        "published_for",
        "count_threshold",
        "min_denominator",
    ]
    national = nation.current().name
    for m in MEASURES.values():
        yield [
            m.code,
            m.label,
            m.kind,
            m.numerator or "",
            m.denominator or "",
            days.get(m.follow_up or "", 0),
            f"{national} only" if m.scotland_only else "every area",
            settings.get("threshold", 5),
            settings.get("min_denominator", 10),
        ]
