"""The printable quarterly report for a board paper: the nation's quarter, every council area
over the 12 months to the quarter's end, the funnel plot, every arrest referral scheme over
the same 12 months and the nation's recent quarters."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template, request
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import AreaBoundary, CouncilArea
from . import bp
from .charts import funnel_plot, polygon_rings, static_map
from .colours import state_for
from .measures import GROUPING_LABELS, MEASURES, RATES
from .params import read_choices
from .periods import parse
from .tables import AreaTable, Row, area_table, make_row
from .tiles import tile_map
from .trends import series
from .views import hidden_summary, national_name, provision_by_area, sorted_rows

TREND_QUARTERS = 6


@dataclass
class QuarterFigures:
    """What the quarterly report shows of one quarter (its page and ``/api/v1``)."""

    national: Row  # the nation in the quarter
    table_period: str | None  # the 12 months the council table covers, if published
    councils: AreaTable | None
    trend: list[Row]  # the nation in its recent quarters
    trend_periods: list[dict]
    schemes: AreaTable | None = None  # arrest referral schemes, over the same 12 months


def quarter_figures(snapshot, code: str, measure: str) -> QuarterFigures:
    year_code = f"12m-{code[:4]}-{int(code[-1]) * 3:02d}"
    latest_for = snapshot.settings.get("latest_for", {})
    table_period = (
        latest_for.get(measure) if year_code == snapshot.settings.get("latest") else None
    )
    councils = (
        area_table(
            db.session,
            snapshot,
            "council",
            table_period,
            measure=measure,
            national_name=national_name(),
        )
        if table_period
        else None
    )
    schemes = (
        area_table(
            db.session,
            snapshot,
            "scheme",
            table_period,
            measure=measure,
            national_name=national_name(),
        )
        if table_period
        else None
    )
    part = snapshot.part("area", code)
    national = make_row("national", "national", national_name(), part.get("national", {}), {})
    recent = series(snapshot, "council", "", "quarter", TREND_QUARTERS)
    return QuarterFigures(
        national,
        table_period,
        councils,
        [row.national for row in recent],
        [row.period for row in recent],
        schemes,
    )


def _quarter_choices(snapshot) -> list[dict]:
    quarters = [p for p in snapshot.periods.values() if p["kind"] == "quarter"]
    return sorted(quarters, key=lambda p: -p["last"])


@bp.get("/quarterly")
def quarterly():
    kept = MultiDict({"as_of": request.args["as_of"]} if request.args.get("as_of") else {})
    choices = read_choices(kept, geographies_only=True)
    snapshot = choices.snapshot
    quarters = _quarter_choices(snapshot)
    asked = (request.args.get("quarter") or "").strip().upper()
    chosen = parse(asked) if asked else None
    if asked and (chosen is None or chosen.kind != "quarter"):
        return _error(choices, quarters, asked, "Choose a quarter from the list, like 2026Q3.")
    code = chosen.code if chosen else (quarters[0]["code"] if quarters else "")
    quarter = snapshot.period(code)
    if quarter is None:
        return _error(
            choices,
            quarters,
            asked,
            "There are no figures for that quarter: choose one from the list.",
        )
    measure = request.args.get("measure") or "conversion_rate"
    if measure not in RATES:
        measure = "conversion_rate"
    figures = quarter_figures(snapshot, code, measure)
    councils, national, table_period = (
        figures.councils,
        figures.national,
        figures.table_period,
    )
    trend, trend_periods = figures.trend, figures.trend_periods
    schemes = figures.schemes
    shapes = plot = tiles = None
    if councils:
        boundaries = dict(
            db.session.execute(sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)).all()
        )
        places = {c.code: c for c in db.session.scalars(sa.select(CouncilArea))}
        shapes = static_map(
            [
                (
                    row,
                    state_for(row.comparison(measure)).colour,
                    places[row.code].latitude,
                    places[row.code].longitude,
                    polygon_rings(boundaries[places[row.code].id])
                    if places[row.code].id in boundaries
                    else None,
                )
                for row in councils.rows
            ]
        )
        definition = MEASURES[measure]
        plot = funnel_plot(
            councils, measure, f"{definition.label} against number of {definition.counted}"
        )
        if not boundaries:  # every council labelled on its tile, rather than bare circles
            label = MEASURES[measure].label
            tiles = tile_map(
                db.session,
                councils,
                measure,
                label,
                {r.key: state_for(r.comparison(measure)).colour for r in councils.rows},
                True,
                f"Tile map of {label.lower()} by {GROUPING_LABELS['council'].lower()}",
            )
    return render_template(
        "reports/quarterly.html",
        error=None,
        choices=choices,
        quarters=quarters,
        quarter=quarter,
        measure=measure,
        national=national,
        councils=councils,
        rows=sorted_rows(councils, "name", measure) if councils else [],
        table_period=snapshot.period(table_period) if table_period else None,
        trend=list(zip(trend_periods, trend, strict=True)),
        shapes=shapes,
        tiles=tiles,
        has_boundaries=bool(shapes) and any(s.path for s in shapes),
        plot=plot,
        hidden=hidden_summary(councils) if councils else [],
        schemes=schemes,
        scheme_rows=sorted_rows(schemes, "name", measure) if schemes else [],
        scheme_hidden=hidden_summary(schemes) if schemes else [],
        settings=snapshot.settings,
        provision=provision_by_area("council"),
    )


def _error(choices, quarters, asked, message):
    return (
        render_template(
            "reports/quarterly.html",
            error=message,
            choices=choices,
            quarters=quarters,
            quarter=None,
            asked=asked,
            settings=choices.snapshot.settings,
        ),
        400,
    )
