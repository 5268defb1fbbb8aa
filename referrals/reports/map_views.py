"""The postcode-lottery map: the chosen measure by area."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import current_app, render_template, request
from flask_login import current_user

from ..directory.map_views import map_assets, map_document_response
from ..directory.maps import document, new_map
from ..extensions import db
from ..models import AreaBoundary, AreaGroup, CouncilArea
from . import bp
from .charts import why_not_shown
from .colours import SUPPRESSED, sequential_bins, sequential_colour, state_for
from .maps import MapArea, add_areas
from .measures import GEOGRAPHIES, GROUPING_LABELS, MEASURES, RATES
from .own import own_codes, own_names
from .params import read_choices
from .tables import AreaTable, Row
from .tiles import tile_map
from .views import build_table


def _scale() -> str:
    return "sequential" if request.args.get("scale") == "sequential" else "comparison"


def _view(has_boundaries: bool) -> str:
    """The tile map unless boundaries are loaded and the geographic map is asked for."""
    return "geographic" if has_boundaries and request.args.get("view") == "geographic" else "tiles"


def colour_rows(table: AreaTable, measure: str, scale: str) -> tuple[dict, list[float]]:
    """Each row's fill colour, and the class edges when the scale is sequential."""
    if scale == "sequential" or measure not in RATES:
        values = [v for r in table.rows if (v := r.measure_value(measure)) is not None]
        edges = sequential_bins(values)
        colours = {}
        for row in table.rows:
            value = row.measure_value(measure)
            colours[row.key] = (
                SUPPRESSED.colour if value is None else sequential_colour(value, edges)
            )
        return colours, edges
    return {
        r.key: SUPPRESSED.colour
        if r.measure_value(measure) is None
        else state_for(r.comparison(measure)).colour
        for r in table.rows
    }, []


def tooltip(row: Row, measure: str) -> list[str]:
    lines = [row.name, f"Referrals: {row.counts['made'].text}"]
    label = MEASURES[measure].label
    if measure in RATES:
        figure = row.rates[measure]
        text = f"{label}: {figure.text}"
        if figure.available:
            text += f" (95% interval {figure.interval_text})"
        else:
            text += f" ({why_not_shown(figure)})"
        lines += [text, state_for(figure.comparison).label]
    else:
        lines.append(f"{label}: {row.measure_text(measure)}")
    if row.target:
        lines.append(f"Target {row.target.text}: {row.target.rag}")
    return lines


def map_areas(table: AreaTable, measure: str, scale: str) -> tuple[list[MapArea], list[float]]:
    """What the map draws for each area of a geography: council boundaries (coloured by
    the area they belong to) when loaded, otherwise a circle at the area's centre."""
    colours, edges = colour_rows(table, measure, scale)
    grouping = table.grouping
    group_codes = dict(db.session.execute(sa.select(AreaGroup.id, AreaGroup.code)).all())
    rows = {r.key: r for r in table.rows}
    boundaries = dict(
        db.session.execute(sa.select(AreaBoundary.council_area_id, AreaBoundary.geojson)).all()
    )
    councils = [
        (
            f"council:{c.code}",
            c.name,
            c.latitude,
            c.longitude,
            f"adp:{group_codes[c.adp_id]}",
            f"police_division:{group_codes[c.police_division_id]}",
            f"health_board:{group_codes[c.health_board_id]}",
            c.population,
            c.id,
        )
        for c in db.session.scalars(sa.select(CouncilArea))
    ]
    parent_of = {"council": 0, "adp": 4, "police_division": 5, "health_board": 6}
    largest = max((r.counts["made"].value or 0 for r in table.rows), default=1) or 1
    areas: list[MapArea] = []

    comparing = scale != "sequential" and measure in RATES

    def badge(row: Row) -> str | None:
        """Words for grey areas, and the symbol of areas that differ from the nation, so
        that colour is never the only way the map says how an area compares."""
        if row.measure_value(measure) is None:
            figure = row.rates.get(measure)
            why = why_not_shown(figure) if figure else row.measure_text(measure)
            return f"{row.name}: {why}"
        if comparing:
            state = state_for(row.comparison(measure))
            if state.shape in ("up", "down"):
                return state.symbol
        return None

    if boundaries and len(boundaries) >= len(councils) // 2:
        for council in councils:
            key = council[parent_of[grouping]] if grouping != "council" else council[0]
            row = rows.get(key)
            if row is None or council[8] not in boundaries:
                continue
            lines = tooltip(row, measure)
            if grouping != "council":
                lines.insert(1, f"({council[1]} is part of this area)")
            areas.append(
                MapArea(
                    row.name,
                    colours[row.key],
                    lines,
                    council[2],
                    council[3],
                    0,
                    json.loads(boundaries[council[8]]),
                    badge(row) if grouping == "council" else None,
                )
            )
        if grouping != "council":  # one label per suppressed area, at its centre
            for key, lat, lon in _centres(grouping, councils):
                row = rows.get(key)
                if row is not None and badge(row):
                    areas.append(
                        MapArea(
                            row.name,
                            colours[row.key],
                            tooltip(row, measure),
                            lat,
                            lon,
                            0,
                            None,
                            badge(row),
                        )
                    )
                    areas[-1].radius = 4
        return areas, edges
    for key, lat, lon in _centres(grouping, councils):
        row = rows.get(key)
        if row is None:
            continue
        made = row.counts["made"]
        radius = 6 if not made.shown or not made.value else 6 + 22 * (made.value / largest) ** 0.5
        areas.append(
            MapArea(
                row.name,
                colours[row.key],
                tooltip(row, measure),
                lat,
                lon,
                radius,
                None,
                badge(row),
            )
        )
    return areas, edges


def mark_own_areas(areas: list[MapArea], names: set[str]) -> None:
    """Outline the user's own areas and label each once "Your area", so they are found by
    text as well as by line."""
    labelled = set()
    for area in areas:
        if area.name not in names:
            continue
        area.own = True
        if "Your area" not in area.lines:
            area.lines.insert(1, "Your area")
        if area.name not in labelled and (area.badge is None or area.geometry is None):
            area.badge = f"Your area: {area.badge}" if area.badge else "Your area"
            labelled.add(area.name)


def _centres(grouping: str, councils) -> list[tuple[int, float, float]]:
    """Each area's centre: a council's centroid, or the population-weighted centre of a
    group's councils."""
    if grouping == "council":
        return [(c[0], c[2], c[3]) for c in councils]
    index = {"adp": 4, "police_division": 5, "health_board": 6}[grouping]
    sums: dict[int, list[float]] = {}
    for c in councils:
        weight = float(c[7] or 1)
        total = sums.setdefault(c[index], [0.0, 0.0, 0.0])
        total[0] += c[2] * weight
        total[1] += c[3] * weight
        total[2] += weight
    return [(key, lat / w, lon / w) for key, (lat, lon, w) in sums.items()]


@bp.get("/map")
def area_map():
    choices = read_choices(request.args, geographies_only=True)
    if not choices.valid:
        return render_template(
            "reports/map.html", choices=choices, table=None, scale=_scale()
        ), 400
    if not choices.period_facts:
        return render_template("reports/map.html", choices=choices, table=None, scale=_scale())
    table = build_table(choices)
    scale = _scale()
    colours, edges = colour_rows(table, choices.measure, scale)
    has_boundaries = db.session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary)) > 0
    view = _view(has_boundaries)
    tiles = None
    if view == "tiles":
        label = MEASURES[choices.measure].label
        tiles = tile_map(
            db.session,
            table,
            choices.measure,
            label,
            colours,
            scale != "sequential" and choices.measure in RATES,
            f"Tile map of {label.lower()} by {GROUPING_LABELS[choices.grouping].lower()}",
        )
        own = own_codes(db.session, current_user, choices.grouping)
        for tile in tiles.tiles:
            tile.own = tile.code in own  # outlined and labelled "Your area"
    return render_template(
        "reports/map.html",
        choices=choices,
        table=table,
        scale=scale,
        edges=edges,
        has_boundaries=has_boundaries,
        view=view,
        tiles=tiles,
        rows=sorted(table.rows, key=lambda r: r.name),
        own=own_codes(db.session, current_user, choices.grouping),
        frame_query=request.query_string.decode(),
    )


@bp.get("/map/frame")
def area_map_frame():
    choices = read_choices(request.args, geographies_only=True)
    config = current_app.config
    m = new_map(map_assets(), config["MAP_TILES_URL"], config["MAP_TILES_ATTRIBUTION"])
    title = "Area map"
    if choices.valid and choices.period_facts and choices.grouping in GEOGRAPHIES:
        table = build_table(choices)
        areas, _ = map_areas(table, choices.measure, _scale())
        mark_own_areas(
            areas, own_names(table, own_codes(db.session, current_user, choices.grouping))
        )
        add_areas(m, areas)
        title = (
            f"Map of {MEASURES[choices.measure].label.lower()} by "
            f"{GROUPING_LABELS[choices.grouping].lower()}"
        )
    return map_document_response(document(m, title))


def group_names(grouping: str) -> dict[int, str]:
    if grouping == "council":
        return dict(db.session.execute(sa.select(CouncilArea.id, CouncilArea.name)).all())
    return dict(
        db.session.execute(
            sa.select(AreaGroup.id, AreaGroup.name).where(AreaGroup.kind == grouping)
        ).all()
    )
