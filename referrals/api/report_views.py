"""``/api/v1/reports/...``: the published figures as data, for reports systems.

A reports system (registered like any other, of the kind "reports") reads what an area
lead may read on the report pages: the same protected figures of the same day, chosen
with the same parameters (``group``, ``measure``, ``period``, ``people``, ``as_of``) and
checked by the same code (``reports/params.py``); every answer names its period, the date
the figures are as at, the follow-up windows and the disclosure thresholds. Figures not
shown are ``null`` with their reason (see ``reports/data.py``). Each call is audited.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.datastructures import MultiDict

from .. import nation
from ..audit import record
from ..choices import Role
from ..extensions import db
from ..reports import data
from ..reports.measures import GEOGRAPHIES, GROUPING_LABELS, MEASURES, RATES
from ..reports.params import breakdown_choices, period_choices, read_choices
from ..reports.periods import parse
from ..reports.quarterly import quarter_figures
from ..reports.tables import area_codes
from ..reports.trends import series
from . import bp
from .auth import client_required, current_client
from .params import ApiError

QUARTERS_SHOWN, YEARS_SHOWN, ROLLING_SHOWN = 8, 4, 3


def _national_name() -> str:
    return nation.current().name


def _only(*names: str) -> None:
    unknown = sorted(set(request.args) - set(names))
    if unknown:
        raise ApiError(
            400,
            f"{unknown[0]} is not a parameter here (they are: {', '.join(names)}).",
            {name: "is not a parameter here." for name in unknown},
        )


def _choices(**kw):
    choices = read_choices(request.args, **kw)
    if not choices.valid:
        errors = {
            name: " ".join(messages)
            for name, messages in choices.form.errors.items()
            if name != "csrf_token"
        }
        first = next(iter(errors.items()), ("query", "is not valid."))
        raise ApiError(400, f"{first[0]}: {first[1]}", errors or None)
    return choices


def _answer(name: str, body: dict, **detail):
    record(
        "report_read",
        object_type="report",
        object_id=f"api:{name}",
        user=current_client().user,
        detail={"via": "api", **detail},
    )
    db.session.commit()
    return jsonify(body)


@bp.get("/reports")
@client_required(Role.LEAD)
def reports_index():
    """What can be asked for: the periods of the day's figures, groupings, measures and
    groups of people."""
    _only("as_of")
    choices = _choices()
    snapshot = choices.snapshot
    periods = [snapshot.period(code) for code, _ in period_choices(snapshot, national=True)]
    body = {
        **data.header(snapshot, None),
        "latest_period": snapshot.settings.get("latest"),
        "periods": [data.period_block(p) for p in periods],
        "groupings": [
            {"code": code, "label": label}
            for code, label in GROUPING_LABELS.items()
            if code != "pathway"
        ],
        "measures": [
            {
                "code": m.code,
                "label": m.label,
                "kind": m.kind,
                "scotland_only": m.scotland_only,
            }
            for m in MEASURES.values()
        ],
        "people": [code or "all" for code, _ in breakdown_choices()],
    }
    return _answer("index", body)


@bp.get("/reports/areas")
@client_required(Role.LEAD)
def report_areas():
    """Every area of a grouping: the area page's table and its CSV, as data."""
    _only("group", "measure", "period", "people", "as_of")
    choices = _choices()
    if not choices.period_facts:
        body = {**data.header(choices.snapshot, None), "areas": [], "national": None}
    else:
        table = data.area_table_for(db.session, choices, _national_name())
        body = data.areas(table, choices.snapshot)
    return _answer(
        "areas",
        body,
        group=choices.grouping,
        period=choices.period,
        people=choices.people,
    )


@bp.get("/reports/national")
@client_required(Role.LEAD)
def report_national():
    """The nation's figures for a period (the reports summary page), by group of people."""
    _only("period", "as_of")
    choices = _choices(national=True)
    period = choices.period_facts
    if not period:
        body = {**data.header(choices.snapshot, None), "national": None}
    else:
        body = data.national(choices.snapshot, period, _national_name())
    return _answer("national", body, period=choices.period)


@bp.get("/reports/trends")
@client_required(Role.LEAD)
def report_trends():
    """One area's quarters and years beside the nation's (the trends page)."""
    _only("group", "area", "as_of")
    choices = _choices(geographies_only=True)
    grouping = choices.grouping if choices.grouping in GEOGRAPHIES else "council"
    codes = area_codes(db.session, grouping)
    code = request.args.get("area", "").strip()
    if code not in codes:
        raise ApiError(
            400,
            f"area must be the code of a {GROUPING_LABELS[grouping].lower()}, like "
            f"{next(iter(codes), 'S12000046')}.",
            {"area": "is not the code of an area of this grouping."},
        )
    snapshot, settings = choices.snapshot, choices.snapshot.settings
    years = series(snapshot, grouping, code, "financial_year", YEARS_SHOWN)
    years += series(snapshot, grouping, code, "rolling_year", ROLLING_SHOWN)
    body = {
        **data.header(snapshot, None),
        "grouping": {"code": grouping, "label": GROUPING_LABELS[grouping]},
        "area": {"code": code, "name": codes[code]},
        "quarters": data.series_block(
            series(snapshot, grouping, code, "quarter", QUARTERS_SHOWN), settings
        ),
        "years": data.series_block(years, settings),
    }
    return _answer("trends", body, group=grouping, area=code)


@bp.get("/reports/quarterly")
@client_required(Role.LEAD)
def report_quarterly():
    """The quarterly report: the nation's quarter, every council area over the 12 months to
    its end, and the nation's recent quarters."""
    _only("quarter", "measure", "as_of")
    kept = MultiDict({"as_of": request.args["as_of"]} if request.args.get("as_of") else {})
    choices = read_choices(kept, geographies_only=True)
    if not choices.valid:
        problem = " ".join(choices.form.as_of.errors)
        raise ApiError(400, f"as_of: {problem}", {"as_of": problem})
    snapshot = choices.snapshot
    quarters = sorted(
        (p for p in snapshot.periods.values() if p["kind"] == "quarter"), key=lambda p: -p["last"]
    )
    asked = request.args.get("quarter", "").strip().upper()
    chosen = parse(asked) if asked else None
    if asked and (chosen is None or chosen.kind != "quarter"):
        raise ApiError(400, "quarter must be a quarter like 2026Q3.", {"quarter": "like 2026Q3"})
    code = chosen.code if chosen else (quarters[0]["code"] if quarters else "")
    quarter = snapshot.period(code) if code else None
    if asked and quarter is None:
        raise ApiError(
            400,
            "There are no figures for that quarter: see /api/v1/reports for the periods.",
            {"quarter": "has no figures."},
        )
    measure = request.args.get("measure") or "conversion_rate"
    if measure not in RATES:
        raise ApiError(
            400, f"measure must be a rate: {', '.join(RATES)}.", {"measure": "is not a rate."}
        )
    if quarter is None:
        body = {**data.header(snapshot, None), "national": None, "councils": None, "trend": []}
        return _answer("quarterly", body)
    figures = quarter_figures(snapshot, code, measure)
    settings = snapshot.settings
    councils = None
    if figures.councils is not None:
        councils = data.areas(figures.councils, snapshot)
    body = {
        **data.header(snapshot, quarter),
        "measure": measure,
        "national": data.row_block(figures.national, settings, data.NATIONAL_MEASURES),
        "councils": councils,
        "trend": [
            {
                "period": data.period_block(period),
                "national": data.row_block(row, settings)["figures"],
            }
            for period, row in zip(figures.trend_periods, figures.trend, strict=True)
        ],
    }
    return _answer("quarterly", body, quarter=code, measure=measure)
