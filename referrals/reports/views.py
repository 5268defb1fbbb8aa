"""Reports for area leads and administrators: the nation's figures, the area table and its
CSV, and the funnel plot. Everything shown has passed disclosure control, once for the day
(see ``snapshot``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Response, abort, current_app, g, render_template, request, url_for
from flask_login import current_user

from .. import nation
from ..audit import record
from ..choices import CloseReason, DeclineReason, ServiceStatus
from ..clock import today_local
from ..extensions import db, login_manager
from ..models import Service
from . import bp
from .area_lines import rows_html, table_lines
from .area_lookups import AreaLookups, area_lookups
from .charts import bar_chart, funnel_plot
from .colours import RAG_LABELS, RAG_SYMBOLS, SEQUENTIAL, STATES, SUPPRESSED, state_for
from .exports import area_rows, csv_response, definition_rows
from .links import menu_urls, profile_args, profile_urls, report_urls
from .measures import (
    BREAKDOWNS,
    GROUPING_LABELS,
    GROUPING_LABELS_PLURAL,
    MEASURES,
    ONGOING_BANDS,
    RATE_LABELS,
    RATES,
    RETENTION_DAYS,
)
from .own import (
    OWN_FIGURES_PAGES,
    REPORT_ROLES,
    has_own_figures,
    lead_areas,
    mark_own,
    own_codes,
    own_names,
    own_units,
    sees_every_area,
    url_code,
)
from .pack_access import PACK_PAGES, own_packs
from .params import Choices, breakdown_choices, read_choices
from .profiles import against_national
from .sorting import sort_links
from .tables import AreaTable, Row, area_table, make_row


@bp.before_request
def report_users_only():
    """Area leads and administrators see every report; custody supervisors, provider
    managers and scheme leads only their own units' figures (``own``), and scheme leads
    and supervisors their own quarterly packs (``pack_access``); others none."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role in REPORT_ROLES:
        return None
    if request.endpoint in OWN_FIGURES_PAGES and has_own_figures(current_user):
        return None
    if request.endpoint in PACK_PAGES and own_packs(db.session, current_user):
        return None  # a scheme lead's or custody supervisor's own pack (``pack_access``)
    abort(403)


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
        "GROUPING_LABELS_PLURAL": GROUPING_LABELS_PLURAL,
        "report_url": report_url,
        "menu_urls": menu_urls,
        "profile_args": profile_args,
        "people_choices": breakdown_choices,
        "sees_every_area": lambda: sees_every_area(current_user),
        "has_own_figures": lambda: has_own_figures(current_user),
        "own_area": own_area,
        "follow_up_days": follow_up_days,
    }


def own_area(grouping: str, code: str) -> bool:
    """Whether an area is one of the signed-in user's own (worked out once a request)."""
    mine = g.setdefault("own_codes", {})
    if grouping not in mine:
        mine[grouping] = own_codes(db.session, current_user, grouping)
    return code in mine[grouping]


def follow_up_days(code: str, settings: dict) -> int:
    """The days every referral of a period must have been followed up for a measure."""
    treatment = settings.get("treatment_days", 84)
    return {
        "engagement": settings.get("engagement_days", 28),
        "treatment": treatment,
        "retention": treatment + RETENTION_DAYS,
    }.get(MEASURES[code].follow_up or "", 0)


def report_url(endpoint: str, **changes) -> str:
    """A report URL keeping the current choices, with some changed (``None`` drops one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint, **args)


def national_name() -> str:
    return nation.current().name


def build_table(choices: Choices, lookups: AreaLookups | None = None) -> AreaTable:
    """The area table for ``choices``, with the names and targets in ``lookups`` when the
    page read them already (``area_lookups``)."""
    return area_table(
        db.session,
        choices.snapshot,
        choices.grouping,
        choices.period,
        group=choices.people,
        measure=choices.measure,
        national_name=national_name(),
        names=lookups.names if lookups else None,
        targets=lookups.targets if lookups else None,
    )


SORTS = {"name", "referrals", *RATES, "median_days_to_treatment", "comparison"}


def sorted_rows(table: AreaTable, sort: str, measure: str) -> list[Row]:
    """Rows in the order asked for (first click: lowest first); hidden figures last."""
    key, _, direction = (sort or "name").partition(":")
    key = key if key in SORTS else "name"
    descending = direction == "desc"
    if key == "name":
        return sorted(table.rows, key=lambda r: r.name, reverse=descending)

    def value(row: Row):
        if key == "comparison":
            order = ["lower_998", "lower_95", "similar", "higher_95", "higher_998"]
            state = row.comparison(measure).value
            return order.index(state) if state in order else None
        return row.measure_value(key)

    present = [r for r in table.rows if value(r) is not None]
    missing = [r for r in table.rows if value(r) is None]
    present.sort(key=lambda r: (value(r), r.name), reverse=descending)
    return present + sorted(missing, key=lambda r: r.name)


def hidden_summary(table: AreaTable) -> list[tuple[str, int, str]]:
    """How many figures the view hides, and why."""
    meanings = {
        f"<{table.threshold}": "counts from 1 to 4, or rates whose numerator or the rest "
        "of their denominator is from 1 to 4",
        f"fewer than {table.settings.get('min_denominator', 10)}": "figures about fewer than "
        f"{table.settings.get('min_denominator', 10)} referrals (or custody contacts)",
        "[c]": "hidden so that a hidden figure cannot be worked out from the others",
        "not published": "not published for these areas, so that a hidden figure cannot be "
        "worked out from the others",
    }
    return [
        (label, table.hidden[label], meanings.get(label, ""))
        for label in meanings
        if table.hidden[label]
    ]


def provision_by_area(grouping: str) -> dict:
    """Active services per 10,000 people, per area of a geography (directory facts)."""
    from .provision import services_per_area

    return services_per_area(db.session, grouping)


@bp.get("/")
def dashboard():
    choices = read_choices(request.args, national=True)
    status = 200 if choices.valid else 400
    period = choices.period_facts
    if not choices.valid or not period:
        return render_template("reports/dashboard.html", choices=choices, now=None), status
    part = choices.snapshot.part("area", choices.period)
    now = make_row("national", "national", national_name(), part.get("national", {}), {})
    previous = _previous(choices.snapshot, period)
    before = None
    if previous:
        earlier = choices.snapshot.part("area", previous["code"]).get("national", {})
        before = make_row("national", "national", national_name(), earlier, {})
    earlier = _followed_up_elsewhere(choices.snapshot, period, now)
    breakdowns = []
    if period.get("breakdowns"):
        for name, (label, groups, names) in BREAKDOWNS.items():
            rows = []
            for g, group_name in zip(groups, names, strict=True):
                entry = choices.snapshot.part("area", choices.period, f"{name}:{g}")
                rows.append(make_row(g, g, group_name, entry.get("national", {}), {}))
            breakdowns.append((label, rows))
    return render_template(
        "reports/dashboard.html",
        choices=choices,
        period=period,
        yours=_yours(choices, period),
        previous=previous,
        now=now,
        before=before,
        breakdowns=breakdowns,
        closures=_reasons(choices.snapshot, "closed", choices.period, CloseReason),
        declines=_reasons(choices.snapshot, "declined", choices.period, DeclineReason),
        ongoing=choices.snapshot.ongoing.get(choices.period),
        ongoing_bands=ONGOING_BANDS,
        earlier=earlier,
        listings=_listings(),
    )


def _yours(choices: Choices, period: dict):
    """A lead's own areas (council, ADP, police division) against the nation, in the chosen
    period or, when that is published for the nation only, the latest 12 months."""
    if not lead_areas(current_user):
        return None
    code = choices.period
    if period.get("scotland_only"):
        code = choices.snapshot.settings.get("latest", "")
    facts = choices.snapshot.period(code)
    if not facts:
        return None
    units = own_units(db.session, current_user)
    return facts, units, against_national(choices.snapshot, units, code)


def _followed_up_elsewhere(snapshot, period: dict, now: Row) -> dict:
    """For rates the period has not been followed up long enough for: the latest 12 months
    for the nation that have, with the rate there (so the page still shows every rate)."""
    out = {}
    for code in RATES:
        if not now.rates[code].missing:
            continue
        candidates = [
            p
            for p in snapshot.periods.values()
            if p["kind"] == "rolling_year"
            and code in p["scotland"]
            and p["last"] <= period["last"]
        ]
        if not candidates:
            continue
        latest = max(candidates, key=lambda p: p["last"])
        entry = snapshot.part("area", latest["code"]).get("national", {})
        row = make_row("national", "national", national_name(), entry, {})
        out[code] = (latest, row.rates[code])
    return out


def _previous(snapshot, period: dict) -> dict | None:
    """The same kind of period just before (a year before for a rolling year)."""
    step = {"month": 1, "quarter": 3, "financial_year": 12, "rolling_year": 12}[period["kind"]]
    for other in snapshot.periods.values():
        if other["kind"] == period["kind"] and other["last"] == period["last"] - step:
            return other
    return None


def _reasons(snapshot, kind: str, period: str, choice) -> list[tuple[str, str]] | None:
    values = snapshot.reasons.get(kind, {}).get(period)
    if values is None:
        return None
    rows = [(member.label, values.get(member.value, 0)) for member in choice]
    rows.append(("Total", values.get("total", 0)))
    return [(label, f"{v:,}" if isinstance(v, int) else v) for label, v in rows]


def _listings() -> tuple[int, int]:
    stale_cutoff = today_local() - dt.timedelta(days=current_app.config["STALE_AFTER_DAYS"])
    active = (
        sa.select(sa.func.count())
        .select_from(Service)
        .where(Service.status == ServiceStatus.ACTIVE)
    )
    stale = active.where(
        sa.or_(Service.last_verified_on.is_(None), Service.last_verified_on < stale_cutoff)
    )
    return db.session.scalar(stale), db.session.scalar(active)


@bp.get("/areas")
def area_report():
    choices = read_choices(request.args)
    if not choices.valid:
        return render_template("reports/areas.html", choices=choices, table=None), 400
    if not choices.period_facts:
        return render_template("reports/areas.html", choices=choices, table=None)
    lookups = area_lookups(db.session, current_user._get_current_object(), choices)
    table = build_table(choices, lookups)
    sort = choices.form.sort.data or "name"
    chart = None
    own = own_codes(db.session, current_user, choices.grouping)
    if choices.measure in RATES:
        chart = bar_chart(
            table,
            choices.measure,
            f"{MEASURES[choices.measure].label} by {GROUPING_LABELS[choices.grouping].lower()}",
        )
        mark_own(chart.bars, own_names(table, own))
    sorts = sort_links(sort, SORTS)
    provision = lookups.provision
    # Keyed by the rows' keys: two rows may show the same code (one service's own
    # reference may be another's id), never the same key.
    grouping = choices.grouping
    addressed = {row.key: url_code(grouping, row.code, row.key) for row in table.rows}
    urls = profile_urls(grouping, addressed.values(), choices.period)
    links = {key: urls[at] for key, at in addressed.items()}
    rows = sorted_rows(table, sort, choices.measure)
    lines = table_lines(table, rows, choices.measure, own, links, provision)
    return render_template(
        "reports/areas.html",
        choices=choices,
        table=table,
        rows_html=rows_html(lines, choices.measure, bool(provision)),
        sort=sort,
        sorts=sorts,
        sort_urls=report_urls("reports.area_report", "sort", [s.next for s in sorts.values()]),
        measure_urls=report_urls("reports.area_report", "measure", MEASURES, sort=None),
        own=own,
        chart=chart,
        hidden=hidden_summary(table),
        provision=provision,
        elsewhere=_measures_elsewhere(choices),
    )


def _measures_elsewhere(choices: Choices) -> list[tuple[str, dict]]:
    """Measures not published for the chosen period (not yet followed up), with the
    period where their latest figures are."""
    facts = choices.period_facts
    shown = set(facts.get("below", ()))
    out = []
    for code, latest in choices.snapshot.settings.get("latest_for", {}).items():
        if code in RATES and code not in shown and latest != choices.period:
            other = choices.snapshot.period(latest)
            if other:
                out.append((code, other))
    return out


@bp.get("/areas.csv")
def area_report_csv():
    choices = read_choices(request.args)
    if not choices.valid or not choices.period_facts:
        return Response("The report choices are not valid.\n", status=400, mimetype="text/plain")
    table = build_table(choices)
    record(
        "report_exported",
        object_type="report",
        object_id="areas.csv",
        detail={"group": choices.grouping, "period": choices.period, "people": choices.people},
    )
    db.session.commit()
    name = f"areas-{choices.grouping}-{choices.period}.csv"
    return csv_response(area_rows(table, choices.snapshot.as_of), name)


@bp.get("/funnel")
def funnel():
    choices = read_choices(request.args)
    measure = choices.measure if choices.measure in RATES else "conversion_rate"
    if not choices.valid:
        return render_template("reports/funnel.html", choices=choices, plot=None), 400
    if not choices.period_facts:
        return render_template("reports/funnel.html", choices=choices, plot=None)
    table = build_table(choices)
    plot = funnel_plot(
        table,
        measure,
        f"{MEASURES[measure].label} against number of "
        f"{MEASURES[measure].counted}, by {GROUPING_LABELS[choices.grouping].lower()}",
    )
    for point in mark_own(
        plot.points, own_names(table, own_codes(db.session, current_user, choices.grouping))
    ):
        point.labelled = True
    return render_template(
        "reports/funnel.html", choices=choices, table=table, plot=plot, measure=measure
    )


@bp.get("/definitions")
def definitions():
    snapshot = read_choices({}).snapshot
    settings = dict(snapshot.settings)
    settings.setdefault("large_area", current_app.config["REPORT_LARGE_AREA"])
    return render_template("reports/definitions.html", settings=settings)


@bp.get("/definitions.csv")
def definitions_csv():
    snapshot = read_choices({}).snapshot
    return csv_response(definition_rows(snapshot.settings), "definitions.csv")
