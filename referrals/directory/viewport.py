"""What the services map shows for one view: the matching locations inside the visible
box (from the spatial index), grouped on the server so the browser receives a few
hundred points whatever the directory's size, and no two targets overlap.

Zoomed out (``SQL_GRID_BELOW``), the database itself counts the locations in cells of a
fine grid (``GRID_PIXELS`` on screen) and only the cells leave it; closer in, the
locations themselves are read. Either way, points are then merged on screen: the
largest takes in everything within ``SPACING_PIXELS`` of it, and so on, so markers and
clusters are at least that far apart (a touch target each, WCAG 2.5.8). A group of one
is sent as that service's marker; a bigger one as a count, listing its services when
the map is zoomed in so far that they would not separate. With a searched place, only
locations within the radius are counted and shown. Each marker row says (1 or 0) whether
its listing is stale, by the search cards' rule, so the popup can warn as a card does.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..geo import SPHERICAL_ERROR, geodesic_km
from ..models import Location, Service, ServiceType
from .access import AddressViewer
from .candidate_sql import box_parameters, candidate_queries
from .cards import is_stale
from .filters import Filters, locations_in, matching_services
from .nearness import spherical_km_array
from .search import numbers

GRID_PIXELS = 24
SPACING_PIXELS = 52
SQL_GRID_BELOW = 13
# More locations than this read one by one are counted per grid cell before merging.
ROWS_BEFORE_GRID = 2000
# Clusters this small list their services once the map is zoomed in this far.
LIST_AT_ZOOM, LIST_UP_TO = 16, 12


@dataclass(frozen=True)
class View:
    south: float
    west: float
    north: float
    east: float
    zoom: int


@dataclass(frozen=True)
class Circle:
    latitude: float
    longitude: float
    radius_km: float


def world_pixels(zoom: int) -> float:
    return 256 * 2**zoom


def _pixels(lats: np.ndarray, lons: np.ndarray, zoom: int) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator pixel coordinates at ``zoom``."""
    size = world_pixels(zoom)
    phi = np.radians(np.clip(lats, -85, 85))
    x = (lons + 180) / 360 * size
    y = (1 - np.log(np.tan(phi) + 1 / np.cos(phi)) / np.pi) / 2 * size
    return x, y


def spaced_groups(lats: np.ndarray, lons: np.ndarray, counts: np.ndarray, zoom: int) -> np.ndarray:
    """For each point, the index of the point it is grouped under: the biggest first
    takes every ungrouped point within ``SPACING_PIXELS``; group leaders stay where
    they are, so any two are at least that far apart."""
    x, y = _pixels(lats, lons, zoom)
    cell_x = np.floor(x / SPACING_PIXELS).astype(np.int64).tolist()
    cell_y = np.floor(y / SPACING_PIXELS).astype(np.int64).tolist()
    # Plain Python numbers from here: the loop below works on one point at a time.
    x, y = x.tolist(), y.tolist()
    cells: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(cell_x, cell_y, strict=True)):
        cells.setdefault(key, []).append(i)
    leader = [-1] * len(x)
    reach = SPACING_PIXELS**2
    for i in np.argsort(-counts, kind="stable").tolist():
        if leader[i] >= 0:
            continue
        leader[i] = i
        cx, cy, xi, yi = cell_x[i], cell_y[i], x[i], y[i]
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for j in cells.get((cx + dx, cy + dy), ()):
                    if leader[j] < 0 and (x[j] - xi) ** 2 + (y[j] - yi) ** 2 < reach:
                        leader[j] = i
    return np.array(leader, dtype=np.int64)


def within_circle(circle: Circle, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Which points lie within the circle by the geodesic, as the list counts them: the
    spherical distance decides, except within its error of the edge."""
    distance = spherical_km_array(circle.latitude, circle.longitude, lats, lons)
    inside = distance * (1 + SPHERICAL_ERROR) <= circle.radius_km
    edge = (distance * (1 - SPHERICAL_ERROR) <= circle.radius_km) & ~inside
    for i in np.flatnonzero(edge):
        inside[i] = (
            geodesic_km(circle.latitude, circle.longitude, lats[i], lons[i]) <= circle.radius_km
        )
    return inside


def type_index(session: Session) -> dict[int, int]:
    types = session.scalars(sa.select(ServiceType.id).order_by(ServiceType.sort_order))
    return {type_id: i for i, type_id in enumerate(types)}


def _grid_rows(lats, lons, ids, zoom: int):
    """Locations counted per grid cell (as ``_grid_cells`` does in the database)."""
    x, y = _pixels(lats, lons, zoom)
    keys = np.floor(x / GRID_PIXELS).astype(np.int64) * 10_000_019 + np.floor(
        y / GRID_PIXELS
    ).astype(np.int64)
    _, first, inverse, counts = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    return (
        np.bincount(inverse, weights=lats) / counts,
        np.bincount(inverse, weights=lons) / counts,
        counts,
        ids[first],
    )


def _grid_cells(session, dialect, services, view: View, box):
    """Locations in view counted per grid cell by the database: arrays of latitude,
    longitude (the cell's mean), count, and one location id per cell; and the number
    of distinct services."""
    degrees = GRID_PIXELS * 360 / world_pixels(view.zoom)
    squeeze = math.cos(math.radians((view.south + view.north) / 2))
    # Shifted to be positive, so truncation is the floor on every database.
    to_cell = sa.func.floor if dialect == "postgresql" else (lambda e: sa.cast(e, sa.Integer))
    cx = to_cell((Location.longitude + 180) / degrees)
    cy = to_cell((Location.latitude + 90) / (degrees * squeeze))
    cells = (
        session.connection()
        .execute(
            locations_in(
                dialect,
                services,
                box,
                sa.func.avg(Location.latitude),
                sa.func.avg(Location.longitude),
                sa.func.count(),
                sa.func.min(Location.id),
            ).group_by(cx, cy)
        )
        .all()
    )
    total = session.scalar(
        locations_in(dialect, services, box, sa.func.count(sa.distinct(Location.service_id)))
    )
    table = np.array([tuple(float(v) for v in c) for c in cells], dtype=np.float64)
    table = table.reshape(-1, 4)
    return table[:, 0], table[:, 1], table[:, 2].astype(np.int64), table[:, 3], total or 0


def markers_in_view(
    session: Session,
    view: View,
    filters: Filters,
    *,
    now_local,
    viewer: AddressViewer,
    stale_after_days: int,
    circle: Circle | None = None,
    type_ids: list[int] | None = None,
) -> dict:
    """``{"services": n, "locations": n, "clusters": [[lat, lon, count, members]],
    "markers": [[lat, lon, type index, name, address, phone, service id, stale]]}`` for
    the view (``stale`` is 1 for a listing not checked for ``stale_after_days``, else 0);
    ``members`` (marker rows) only for small clusters when zoomed right in.
    ``type_ids`` are the service types' ids in the key's order, if already read."""
    dialect = session.get_bind().dialect.name
    box = (view.south, view.north, view.west, view.east)
    if circle is None and view.zoom < SQL_GRID_BELOW:
        services = matching_services(filters, now_local)
        if not viewer.everything:
            services = services.where(viewer.shown())
        lats, lons, counts, ids, total = _grid_cells(session, dialect, services, view, box)
        located = int(counts.sum())
    else:
        sql = candidate_queries(dialect, filters, now_local, viewer, True)
        table = numbers(session, sql.shown, 4, box_parameters(box), packed=sql.packed)
        table = np.empty((0, 4)) if table is None else table
        ids, service_ids, lats, lons = table[:, 0], table[:, 1], table[:, 2], table[:, 3]
        if circle is not None and len(table):
            inside = within_circle(circle, lats, lons)
            ids, service_ids, lats, lons = (
                ids[inside],
                service_ids[inside],
                lats[inside],
                lons[inside],
            )
        counts = np.ones(len(ids), dtype=np.int64)
        total, located = len(np.unique(service_ids)), len(ids)
        if located > ROWS_BEFORE_GRID:
            lats, lons, counts, ids = _grid_rows(lats, lons, ids, view.zoom)
    leader = spaced_groups(lats, lons, counts, view.zoom)
    # Each group's leader, the group's number of locations and of points; the groups
    # in the order of their first point.
    heads, first, inverse = np.unique(leader, return_index=True, return_inverse=True)
    sizes = np.bincount(inverse, weights=counts, minlength=len(heads)).astype(np.int64)
    points = np.bincount(inverse, minlength=len(heads))
    order = np.argsort(first, kind="stable")
    single = [int(ids[head]) for head in heads[order][sizes[order] == 1].tolist()]
    listed = []
    clusters = []
    for g in order[sizes[order] > 1].tolist():
        head, n = int(heads[g]), int(sizes[g])
        clusters.append([round(float(lats[head]), 5), round(float(lons[head]), 5), n])
        if view.zoom >= LIST_AT_ZOOM and n <= LIST_UP_TO and points[g] == n:
            listed.append((clusters[-1], [int(ids[m]) for m in np.flatnonzero(inverse == g)]))
    rows = _marker_rows(
        session,
        single + [i for _, member_ids in listed for i in member_ids],
        (now_local.date(), stale_after_days),
        type_ids,
    )
    by_location = dict(zip(single + [i for _, m in listed for i in m], rows, strict=True))
    for cluster, member_ids in listed:
        cluster.append([by_location[i] for i in member_ids])
    return {
        "services": int(total),
        "locations": located,
        "clusters": clusters,
        "markers": [by_location[i] for i in single],
    }


_MARKERS = (
    sa.select(
        Location.id,
        Location.latitude,
        Location.longitude,
        Service.primary_type_id,
        Service.name,
        Location.address_1,
        Location.town,
        Location.postcode,
        Service.confidential_address,
        Service.phone,
        Service.id,
        Service.last_verified_on,
    )
    .join(Service, Service.id == Location.service_id)
    .where(Location.id.in_(sa.bindparam("ids", expanding=True)))
)


def _marker_rows(
    session: Session,
    location_ids: list[int],
    staleness: tuple[dt.date, int],
    type_ids: list[int] | None = None,
) -> list[list]:
    """One marker row per location id, in the order given; ``staleness`` is today and
    the days after which a listing is stale."""
    if not location_ids:
        return []
    index = (
        {type_id: i for i, type_id in enumerate(type_ids)}
        if type_ids is not None
        else type_index(session)
    )
    markers = {}
    for r in session.connection().execute(_MARKERS, {"ids": location_ids}):
        address = f"{r.address_1}, {r.town} {r.postcode}"
        if r.confidential_address:
            address += " (confidential address)"
        markers[r[0]] = [
            round(r.latitude, 5),
            round(r.longitude, 5),
            index[r.primary_type_id],
            r.name,
            address,
            r.phone or "",
            r[10],
            int(is_stale(r.last_verified_on, *staleness)),
        ]
    return [markers[i] for i in location_ids]


def zoom_for_radius(radius_km: float) -> int:
    """A zoom at which a circle of ``radius_km`` fits a phone-sized map."""
    return max(5, min(15, round(math.log2(40_000 / radius_km)) - 1))
