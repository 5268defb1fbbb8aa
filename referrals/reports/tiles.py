"""The tile map: every area of a geography as one equal-sized hexagon, laid out roughly
like the country, so a small city area is as easy to see, label and compare as a large
rural one, and the map needs no boundary file.

Each tile carries the area's short name, its figure and (when compared with the nation)
the comparison's symbol, and is filled with the comparison's colour. The two greys are
told apart by pattern as well: an area whose figure is not shown (small numbers, or hidden
to protect another figure) is hatched; an area shown but not compared is plain grey.

The layout is reference data (``tiles.csv`` of the data pack: a column and row per area at
each level, on a grid whose odd rows sit half a tile to the right). An area the layout
does not place gets the free cell nearest its centre, so a new pack still maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaGroup, AreaTile, CouncilArea
from .charts import why_not_shown
from .colours import SUPPRESSED, State, state_for
from .tables import AreaTable, Row

RADIUS = 44  # centre to corner, in SVG units
WIDTH = math.sqrt(3) * RADIUS  # flat side to flat side
MARGIN = 6


@dataclass
class Tile:
    code: str
    name: str
    short_name: str
    x: float
    y: float
    points: str
    fill: str
    hatched: bool
    ink: str  # the text colour that contrasts with ``fill``
    value: str
    symbol: str
    description: str  # the accessible name: area, figure and how it compares
    own: bool = False  # the signed-in user's own area: outlined and labelled


@dataclass
class TileMap:
    width: int
    height: int
    tiles: list[Tile]
    title: str


def centre(col: int, row: int) -> tuple[float, float]:
    x = MARGIN + WIDTH / 2 + col * WIDTH + (WIDTH / 2 if row % 2 else 0)
    y = MARGIN + RADIUS + row * 1.5 * RADIUS
    return x, y


def hexagon(x: float, y: float) -> str:
    corners = []
    for i in range(6):
        angle = math.radians(60 * i - 30)
        corners.append(f"{x + RADIUS * math.cos(angle):.1f},{y + RADIUS * math.sin(angle):.1f}")
    return " ".join(corners)


def ink_for(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` (WCAG relative luminance)."""
    channels = [int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return "#0b0c0c" if (luminance + 0.05) / 0.05 >= 1.05 / (luminance + 0.05) else "#ffffff"


def _areas(session: Session, level: str) -> list[tuple[str, str, float, float]]:
    """(code, name, latitude, longitude) of each area at ``level``; a group's centre is
    the population-weighted centre of its councils."""
    councils = session.scalars(sa.select(CouncilArea)).all()
    if level == "council":
        return [(c.code, c.name, c.latitude, c.longitude) for c in councils]
    groups = {
        g.id: g for g in session.scalars(sa.select(AreaGroup).where(AreaGroup.kind == level))
    }
    sums: dict[int, list[float]] = {}
    for c in councils:
        group_id = getattr(c, f"{level}_id")
        weight = float(c.population or 1)
        total = sums.setdefault(group_id, [0.0, 0.0, 0.0])
        total[0] += c.latitude * weight
        total[1] += c.longitude * weight
        total[2] += weight
    return [
        (groups[gid].code, groups[gid].name, lat / w, lon / w)
        for gid, (lat, lon, w) in sums.items()
        if gid in groups
    ]


def layout(session: Session, level: str) -> dict[str, tuple[str, str, int, int]]:
    """Each area's (name, short name, column, row) at ``level``."""
    areas = _areas(session, level)
    placed = {
        t.code: (t.short_name, t.col, t.row)
        for t in session.scalars(sa.select(AreaTile).where(AreaTile.level == level))
    }
    result = {}
    taken = set()
    for code, name, _lat, _lon in areas:
        if code in placed:
            short, col, row = placed[code]
            result[code] = (name, short, col, row)
            taken.add((col, row))
    missing = [a for a in areas if a[0] not in result]
    if missing:
        result.update(_place(areas, missing, result, taken))
    return result


def _place(areas, missing, placed, taken) -> dict[str, tuple[str, str, int, int]]:
    """Free cells for areas the layout leaves out, nearest their centres on a grid
    stretched over the areas' extent (south at the bottom)."""
    lats = [a[2] for a in areas]
    lons = [a[3] for a in areas]
    columns = max(3, round(math.sqrt(len(areas)) * 1.2))
    rows = max(3, round(len(areas) / columns * 1.6))
    south, north = min(lats), max(lats)
    west, east = min(lons), max(lons)
    result = {}
    for code, name, lat, lon in sorted(missing, key=lambda a: (-a[2], a[3])):
        want_col = (lon - west) / ((east - west) or 1) * (columns - 1)
        want_row = (north - lat) / ((north - south) or 1) * (rows - 1)
        best = min(
            (
                (abs(c - want_col) + abs(r - want_row), r, c)
                for r in range(rows + len(missing))
                for c in range(columns + 1)
                if (c, r) not in taken
            ),
        )
        taken.add((best[2], best[1]))
        result[code] = (name, _shorten(name), best[2], best[1])
    return result


def _shorten(name: str) -> str:
    return name if len(name) <= 12 else name[:11].rstrip() + "."


def _describe(row: Row, measure: str, label: str, value: str, state: State | None) -> str:
    if row.measure_value(measure) is None:
        figure = row.rates.get(measure)
        why = why_not_shown(figure) if figure is not None else row.measure_text(measure)
        return f"{row.name}: {label.lower()} not shown ({why})"
    text = f"{row.name}: {label.lower()} {value}"
    if state is not None:
        text += f", {state.label[:1].lower()}{state.label[1:]}"
    return text


def tile_map(
    session: Session,
    table: AreaTable,
    measure: str,
    measure_label: str,
    colours: dict[str, str],
    comparing: bool,
    title: str,
) -> TileMap:
    """The tiles of ``table``'s geography, filled with ``colours`` (by row key)."""
    rows = {r.code: r for r in table.rows}
    places = layout(session, table.grouping)
    tiles = []
    for code, (name, short, col, row_index) in sorted(places.items()):
        row = rows.get(code)
        if row is None:
            continue
        x, y = centre(col, row_index)
        hidden = row.measure_value(measure) is None
        state = None
        if hidden:
            state = SUPPRESSED
        elif comparing:
            state = state_for(row.comparison(measure))
        fill = SUPPRESSED.colour if hidden else colours.get(row.key, SUPPRESSED.colour)
        symbol = state.symbol if state is not None and state.shape != "none" else ""
        value = row.measure_text(measure)
        if hidden and len(value) > 6:  # "fewer than 10": the table and the name say why
            value = "\N{EN DASH}"
        tiles.append(
            Tile(
                code,
                name,
                short,
                x,
                y,
                hexagon(x, y),
                fill,
                hidden,
                ink_for(fill),
                value,
                symbol,
                _describe(row, measure, measure_label, value, state),
            )
        )
    width = max((t.x for t in tiles), default=0) + WIDTH / 2 + MARGIN
    height = max((t.y for t in tiles), default=0) + RADIUS + MARGIN
    return TileMap(math.ceil(width), math.ceil(height), tiles, title)
