"""The printable quarterly report for a board paper: the nation's quarter, every area of the
chosen geography (council areas unless chosen otherwise) over the 12 months to the quarter's
end for the chosen rate, its map and funnel plot, every arrest referral scheme over the same
12 months and the nation's recent quarters."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import render_template, request
from werkzeug.datastructures import MultiDict

from ..extensions import db
from ..models import AreaBoundary, AreaGroup, CouncilArea
from . import bp
from .charts import funnel_plot, polygon_rings, static_map
from .colours import state_for
from .measures import GEOGRAPHIES, GROUPING_LABELS, MEASURES, RATES
from .params import read_choices
from .periods import parse
from .tables import AreaTable, Row, area_table, make_row
from .tiles import tile_map
from .trend_charts import trend_chart
from .trends import series
from .views import hidden_summary, national_name, provision_by_area, sorted_rows

TREND_QUARTERS = 6


@dataclass
class QuarterFigures:
    """What the quarterly report shows of one quarter (its page and ``/api/v1``)."""

    national: Row  # the nation in the quarter
    table_period: str | None  # the 12 months the area table covers, if published
    councils: AreaTable | None  # the areas of the chosen geography (council areas unless chosen)
    trend: list[Row]  # the nation in its recent quarters
    trend_periods: list[dict]
    schemes: AreaTable | None = None  # arrest referral schemes, over the same 12 months


def quarter_figures(
    snapshot, code: str, measure: str, grouping: str = "council"
) -> QuarterFigures:
    year_code = f"12m-{code[:4]}-{int(code[-1]) * 3:02d}"
    latest_for = snapshot.settings.get("latest_for", {})
    table_period = (
        latest_for.get(measure) if year_code == snapshot.settings.get("latest") else None
    )
    councils = (
        area_table(
            db.session,
            snapshot,
            grouping,
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
    # The quarters up to the one chosen: a paper about an earlier quarter is not
    # followed by the quarters after it.
    chosen = snapshot.periods.get(code)
    until = chosen["last"] if chosen else None
    recent = series(snapshot, "council", "", "quarter", TREND_QUARTERS, until)
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
        return _error(choices, quarters, asked, "Choose a measure from the list.", "measure")
    grouping = request.args.get("group") or "council"
    if grouping not in GEOGRAPHIES:
        return _error(choices, quarters, asked, "Choose the areas from the list.", "group")
    figures = quarter_figures(snapshot, code, measure, grouping)
    councils, national, table_period = (
        figures.councils,
        figures.national,
        figures.table_period,
    )
    trend, trend_periods = figures.trend, figures.trend_periods
    trend_chart_ = trend_chart(
        [(period, row, None) for period, row in zip(trend_periods, trend, strict=True)],
        measure,
        f"{MEASURES[measure].label} by quarter: {national_name()}",
        area_name=national_name(),
        national_name=national_name(),
    )
    schemes = figures.schemes
    shapes = plot = tiles = None
    if councils:
        shapes = static_map(_map_areas(councils, measure))
        definition = MEASURES[measure]
        plot = funnel_plot(
            councils, measure, f"{definition.label} against number of {definition.counted}"
        )
        if not any(shape.path for shape in shapes):  # every area labelled on a tile, not a dot
            label = MEASURES[measure].label
            tiles = tile_map(
                db.session,
                councils,
                measure,
                label,
                {r.key: state_for(r.comparison(measure)).colour for r in councils.rows},
                True,
                f"Tile map of {label.lower()} by {GROUPING_LABELS[grouping].lower()}",
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
        trend_chart=trend_chart_,
        shapes=shapes,
        tiles=tiles,
        has_boundaries=bool(shapes) and any(s.path for s in shapes),
        plot=plot,
        hidden=hidden_summary(councils) if councils else [],
        schemes=schemes,
        scheme_rows=sorted_rows(schemes, "name", measure) if schemes else [],
        scheme_hidden=hidden_summary(schemes) if schemes else [],
        settings=snapshot.settings,
        provision=provision_by_area(grouping),
        grouping=grouping,
    )


def _map_areas(table, measure: str) -> list[tuple]:
    """(row, colour, latitude, longitude, rings) for the printed map: each council drawn in
    the colour of the area of the chosen geography it belongs to."""
    boundaries = dict(
        db.session.execute(sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)).all()
    )
    groups = dict(db.session.execute(sa.select(AreaGroup.id, AreaGroup.code)).all())
    rows = {row.code: row for row in table.rows}
    parent = {
        "adp": "adp_id",
        "police_division": "police_division_id",
        "health_board": "health_board_id",
    }.get(table.grouping)
    areas = []
    for place in db.session.scalars(sa.select(CouncilArea).order_by(CouncilArea.name)):
        row = rows.get(groups[getattr(place, parent)] if parent else place.code)
        if row is None:
            continue
        rings = polygon_rings(boundaries[place.id]) if place.id in boundaries else None
        colour = state_for(row.comparison(measure)).colour
        areas.append((row, colour, place.latitude, place.longitude, rings))
    return areas


def _error(choices, quarters, asked, message, field="quarter"):
    return (
        render_template(
            "reports/quarterly.html",
            error=message,
            error_field=field,
            choices=choices,
            quarters=quarters,
            quarter=None,
            asked=asked,
            settings=choices.snapshot.settings,
        ),
        400,
    )
