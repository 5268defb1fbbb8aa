"""What the services map shows for one view: the matching locations inside the visible
box (from the spatial index), grouped on the server into clusters when there are more
than a screenful, so the browser receives a few hundred points whatever the directory's
size.

Clusters are cells of a grid ``CELL_PIXELS`` wide on screen at the view's zoom (Web
Mercator: a tile of 256 pixels spans 360 / 2**zoom degrees of longitude). A cell with one
location is sent as that service's marker; with more, as a count at the cells' average
position. With a searched place, only locations within the radius are counted and shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..geo import SPHERICAL_ERROR, geodesic_km
from ..models import Location, Service, ServiceType
from .filters import Filters, locations_in, matching_services
from .nearness import spherical_km_array

CELL_PIXELS = 56
# Up to this many locations in view are sent one by one, however far out the map is.
MAX_MARKERS = 300


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


def cell_degrees(zoom: int) -> float:
    return 360 / 2**zoom / 256 * CELL_PIXELS


def _mercator_y(lat: np.ndarray) -> np.ndarray:
    """Latitude as Web Mercator y in degree-like units (equal to longitude degrees)."""
    phi = np.radians(np.clip(lat, -85, 85))
    return np.degrees(np.log(np.tan(np.pi / 4 + phi / 2)))


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


def markers_in_view(
    session: Session,
    view: View,
    filters: Filters,
    *,
    now_local,
    show_confidential: bool,
    circle: Circle | None = None,
) -> dict:
    """``{"services": n, "locations": n, "clusters": [[lat, lon, count]], "markers":
    [[lat, lon, type index, name, address, phone, service id]]}`` for the view."""
    dialect = session.get_bind().dialect.name
    services = matching_services(filters, now_local)
    if not show_confidential:
        services = services.where(~Service.confidential_address)
    box = (view.south, view.north, view.west, view.east)
    rows = session.execute(
        locations_in(
            dialect,
            services,
            box,
            Location.id,
            Location.service_id,
            Location.latitude,
            Location.longitude,
        )
    ).all()
    ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    service_ids = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    lats = np.fromiter((r[2] for r in rows), float, len(rows))
    lons = np.fromiter((r[3] for r in rows), float, len(rows))
    if circle is not None and len(rows):
        inside = within_circle(circle, lats, lons)
        ids, service_ids, lats, lons = ids[inside], service_ids[inside], lats[inside], lons[inside]
    result = {
        "services": len(np.unique(service_ids)),
        "locations": len(ids),
        "clusters": [],
        "markers": [],
    }
    singles = np.arange(len(ids))
    if len(ids) > MAX_MARKERS:
        size = cell_degrees(view.zoom)
        cx = np.floor(lons / size).astype(np.int64)
        cy = np.floor(_mercator_y(lats) / size).astype(np.int64)
        keys = cx * 1_000_003 + cy
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        lat_mean = np.bincount(inverse, weights=lats) / counts
        lon_mean = np.bincount(inverse, weights=lons) / counts
        crowded = counts > 1
        result["clusters"] = [
            [round(float(la), 5), round(float(lo), 5), int(n)]
            for la, lo, n in zip(
                lat_mean[crowded], lon_mean[crowded], counts[crowded], strict=True
            )
        ]
        singles = np.flatnonzero(~crowded[inverse])
    result["markers"] = _marker_rows(session, [int(i) for i in ids[singles]])
    return result


def _marker_rows(session: Session, location_ids: list[int]) -> list[list]:
    if not location_ids:
        return []
    index = type_index(session)
    rows = session.execute(
        sa.select(
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
        )
        .join(Service, Service.id == Location.service_id)
        .where(Location.id.in_(location_ids))
        .order_by(Location.id)
    ).all()
    markers = []
    for r in rows:
        address = f"{r.address_1}, {r.town} {r.postcode}"
        if r.confidential_address:
            address += " (confidential address)"
        markers.append(
            [
                round(r.latitude, 5),
                round(r.longitude, 5),
                index[r.primary_type_id],
                r.name,
                address,
                r.phone or "",
                r.id,
            ]
        )
    return markers


def zoom_for_radius(radius_km: float) -> int:
    """A zoom at which a circle of ``radius_km`` fits a phone-sized map."""
    return max(5, min(15, round(math.log2(40_000 / radius_km)) - 1))
