"""The printable quarterly report for a board paper."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request

from ..clock import today_local
from ..extensions import db
from ..models import AreaBoundary, CouncilArea
from . import bp
from .charts import funnel_plot, polygon_rings, static_map
from .colours import state_for
from .params import previous_quarter, quarter_bounds, quarter_of
from .tables import area_table
from .views import provision, read_choices, sorted_rows, threshold

TREND_QUARTERS = 6


@bp.get("/quarterly")
def quarterly():
    choices = read_choices(geographies_only=True)
    today = today_local()
    quarter = (request.args.get("quarter") or previous_quarter(today)).strip().upper()
    bounds = quarter_bounds(quarter)
    if bounds is None or bounds[0] > today:
        message = (
            "Give the quarter as a year and quarter number, like 2026Q3."
            if bounds is None
            else "That quarter has not started yet."
        )
        return render_template(
            "reports/quarterly.html", error=message, quarter=quarter, choices=choices
        ), 400
    start, end = bounds
    params = choices.params.with_period(start, min(end, today))
    measure = "conversion_rate"
    councils = area_table(db.session, "council", params, threshold=threshold(), measure=measure)
    national = councils.national
    before_start, before_end = quarter_bounds(previous_quarter(start))
    before = area_table(
        db.session,
        "health_board",
        params.with_period(before_start, before_end),
        threshold=threshold(),
    ).national
    trend = []
    q = quarter
    for _ in range(TREND_QUARTERS):
        q_start, q_end = quarter_bounds(q)
        table = area_table(
            db.session,
            "health_board",
            params.with_period(q_start, min(q_end, today)),
            threshold=threshold(),
        )
        trend.append((q, table.national))
        q = previous_quarter(q_start)
    trend.reverse()

    boundaries = dict(
        db.session.execute(sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)).all()
    )
    places = {c.id: c for c in db.session.scalars(sa.select(CouncilArea))}
    shapes = static_map(
        [
            (
                row,
                state_for(row.comparison(measure)).colour,
                places[row.key].latitude,
                places[row.key].longitude,
                polygon_rings(boundaries[row.key]) if row.key in boundaries else None,
            )
            for row in councils.rows
        ]
    )
    plot = funnel_plot(councils, measure, "Conversion rate against number of referrals")
    return render_template(
        "reports/quarterly.html",
        error=None,
        choices=choices,
        quarter=quarter,
        params=params,
        complete=end <= today,
        councils=councils,
        rows=sorted_rows(councils, "name", measure),
        national=national,
        before=before,
        previous=previous_quarter(start),
        trend=trend,
        shapes=shapes,
        has_boundaries=bool(boundaries),
        plot=plot,
        measure=measure,
        provision=provision("council"),
        this_quarter=quarter_of(today),
    )
