"""Reports for area leads and administrators: the national picture, the area table and
its CSV, and the funnel plot. Everything shown has passed disclosure control."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Response, current_app, render_template, request, url_for

from ..audit import record
from ..auth.access import role_required
from ..choices import CloseReason, DeclineReason, Role, ServiceStatus
from ..clock import today_local
from ..extensions import db
from ..models import Service, ServiceType
from . import bp
from .charts import bar_chart, funnel_plot
from .colours import RAG_LABELS, RAG_SYMBOLS, SEQUENTIAL, STATES, SUPPRESSED, state_for
from .disclosure import Cells, Relation, protect, small
from .measures import (
    GEOGRAPHIES,
    GROUPING_LABELS,
    RATE_LABELS,
    RATES,
    reason_counts,
    services_per_area,
)
from .params import ReportForm, params_from, previous_period
from .tables import MEASURES, AreaTable, Row, area_table

REPORT_ROLES = (Role.LEAD, Role.ADMIN)


@bp.before_request
@role_required(*REPORT_ROLES)
def report_users_only():
    return None


@bp.app_context_processor
def report_helpers() -> dict:
    return {
        "state_for": state_for,
        "STATES": STATES,
        "SUPPRESSED": SUPPRESSED,
        "RAG_LABELS": RAG_LABELS,
        "RAG_SYMBOLS": RAG_SYMBOLS,
        "SEQUENTIAL": SEQUENTIAL,
        "MEASURES": MEASURES,
        "RATE_LABELS": RATE_LABELS,
        "GROUPING_LABELS": GROUPING_LABELS,
        "report_url": report_url,
    }


def report_url(endpoint: str, **changes) -> str:
    """A report URL keeping the current choices, with some changed (``None`` drops one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint, **args)


@dataclass
class Choices:
    form: ReportForm
    valid: bool
    grouping: str
    measure: str

    @property
    def params(self):
        return params_from(self.form, today_local(), current_app.config)


def read_choices(geographies_only: bool = False) -> Choices:
    types = [
        (t.code, t.name)
        for t in db.session.scalars(sa.select(ServiceType).order_by(ServiceType.sort_order))
    ]
    form = ReportForm(request.args, service_types=types, geographies_only=geographies_only)
    valid = form.validate_more() if request.args else True
    grouping = form.group.data if valid and form.group.data else "council"
    measure = form.measure.data if valid and form.measure.data else "conversion_rate"
    return Choices(form, valid, grouping, measure)


def threshold() -> int:
    return current_app.config["DISCLOSURE_THRESHOLD"]


def build_table(choices: Choices) -> AreaTable:
    return area_table(
        db.session,
        choices.grouping,
        choices.params,
        threshold=threshold(),
        measure=choices.measure,
    )


SORTS = {"name", "referrals", "pending", *RATES, "median_days_to_treatment", "comparison"}


def sorted_rows(table: AreaTable, sort: str, measure: str) -> list[Row]:
    """Rows in the order asked for; hidden and missing figures always last."""
    key, _, direction = (sort or "name").partition(":")
    key = key if key in SORTS else "name"
    descending = direction == "desc"
    if key == "name":
        return sorted(table.rows, key=lambda r: r.name, reverse=descending)

    def value(row: Row):
        if key == "referrals":
            return row.measure_value("referrals")
        if key == "pending":
            figure = row.counts["pending"]
            return None if figure.hidden else figure.value
        if key == "comparison":
            order = ["lower_998", "lower_95", "similar", "higher_95", "higher_998"]
            state = row.comparison(measure).value
            return order.index(state) if state in order else None
        return row.measure_value(key)

    present = [r for r in table.rows if value(r) is not None]
    missing = [r for r in table.rows if value(r) is None]
    present.sort(key=lambda r: (value(r), r.name), reverse=descending)
    return present + sorted(missing, key=lambda r: r.name)


def provision(grouping: str) -> dict:
    """Services per 10,000 people, per area of a geography."""
    if grouping not in GEOGRAPHIES:
        return {}
    return {
        key: (count, 10_000 * count / people if people else None)
        for key, (count, people) in services_per_area(db.session, grouping).items()
    }


@bp.get("/")
def dashboard():
    choices = read_choices(geographies_only=True)
    if not choices.valid:
        return render_template("reports/dashboard.html", choices=choices, table=None), 400
    params = choices.params
    table = area_table(db.session, "health_board", params, threshold=threshold())
    before = area_table(db.session, "health_board", previous_period(params), threshold=threshold())
    closures, declines = reason_counts(db.session, params)
    stale_cutoff = today_local() - dt.timedelta(days=current_app.config["STALE_AFTER_DAYS"])
    stale = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Service)
        .where(
            Service.status == ServiceStatus.ACTIVE,
            sa.or_(Service.last_verified_on.is_(None), Service.last_verified_on < stale_cutoff),
        )
    )
    active = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Service)
        .where(Service.status == ServiceStatus.ACTIVE)
    )
    return render_template(
        "reports/dashboard.html",
        choices=choices,
        params=params,
        previous=previous_period(params),
        table=table,
        now=table.national,
        before=before.national,
        closures=protected_reasons(closures, CloseReason),
        declines=protected_reasons(declines, DeclineReason),
        stale=stale,
        active=active,
    )


def protected_reasons(counts: dict[str, int], choice) -> list[tuple[str, str]]:
    """Counts by reason, with small ones hidden and none recoverable from the total."""
    keys = [m.value for m in choice]
    cells = Cells(
        counts={k: {"n": counts.get(k, 0)} for k in keys} | {"total": {"n": sum(counts.values())}},
        rates={},
    )
    hidden = protect(cells, [Relation("total", tuple(keys))], threshold())
    shown = []
    for member in choice:
        value = counts.get(member.value, 0)
        if hidden.count(member.value, "n"):
            text = f"<{threshold()}" if small(value, threshold()) else "[c]"
        else:
            text = f"{value:,}"
        shown.append((member.label, text))
    return shown


@bp.get("/areas")
def area_report():
    choices = read_choices()
    if not choices.valid:
        return render_template("reports/areas.html", choices=choices, table=None), 400
    table = build_table(choices)
    sort = choices.form.sort.data or "name"
    chart = None
    if choices.measure in RATES:
        chart = bar_chart(
            table,
            choices.measure,
            f"{MEASURES[choices.measure].label} by {GROUPING_LABELS[choices.grouping].lower()}",
        )
    return render_template(
        "reports/areas.html",
        choices=choices,
        table=table,
        rows=sorted_rows(table, sort, choices.measure),
        sort=sort,
        chart=chart,
        provision=provision(choices.grouping),
    )


CSV_HEADER = [
    "area_code",
    "area",
    "referrals",
    "pending",
    *[c for name in RATES for c in (name, f"{name}_ci95_low", f"{name}_ci95_high")],
    "median_days_to_attendance",
    "median_days_to_treatment",
    "p90_days_to_treatment",
    "compared_with_scotland",
    "target",
    "rag",
    "services_per_10000",
]


def csv_rows(table: AreaTable, rows: list[Row], measure: str, provision: dict):
    """The area table as CSV rows: exactly the figures the page shows."""
    yield CSV_HEADER
    for row in [*rows, table.national]:
        cells = [row.code, row.name, row.counts["made"].text, row.counts["pending"].text]
        for name in RATES:
            figure = row.rates[name]
            ci = figure.ci95
            cells += [
                figure.text,
                f"{100 * ci.low:.1f}%" if ci else "",
                f"{100 * ci.high:.1f}%" if ci else "",
            ]
        cells += [
            row.to_attendance.text,
            row.to_treatment.text,
            "" if row.to_treatment.hidden or not row.to_treatment.n else str(row.to_treatment.p90),
            "" if row.key == "__national__" else state_for(row.comparison(measure)).label,
            row.target.text if row.target else "",
            row.target.rag if row.target else "",
            ""
            if row.key not in provision or provision[row.key][1] is None
            else f"{provision[row.key][1]:.1f}",
        ]
        yield cells


@bp.get("/areas.csv")
def area_report_csv():
    choices = read_choices()
    if not choices.valid:
        return Response("The report choices are not valid.\n", status=400, mimetype="text/plain")
    table = build_table(choices)
    rows = sorted_rows(table, choices.form.sort.data or "name", choices.measure)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for line in csv_rows(table, rows, choices.measure, provision(choices.grouping)):
        writer.writerow(line)
    record(
        "report_exported",
        object_type="report",
        object_id="areas.csv",
        detail={
            "group": choices.grouping,
            "from": table.params.start.isoformat(),
            "to": table.params.end.isoformat(),
        },
    )
    db.session.commit()
    name = f"areas-{choices.grouping}-{table.params.start}-{table.params.end}.csv"
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.get("/funnel")
def funnel():
    choices = read_choices()
    measure = choices.measure if choices.measure in RATES else "conversion_rate"
    if not choices.valid:
        return render_template("reports/funnel.html", choices=choices, plot=None), 400
    table = build_table(choices)
    plot = funnel_plot(
        table,
        measure,
        f"{MEASURES[measure].label} against number of "
        f"referrals, by {GROUPING_LABELS[choices.grouping].lower()}",
    )
    return render_template(
        "reports/funnel.html", choices=choices, table=table, plot=plot, measure=measure
    )
