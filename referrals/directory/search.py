"""Nearest-service search: SQL narrows by filters and a bounding box, then distances.

Distances shown and used for ordering are geopy geodesics. To keep a search over
thousands of services fast, a spherical distance (within 1% of the geodesic) bounds
each candidate first, and the geodesic is computed only where the bounds cannot decide:
near the edge of the radius, and for the services on the page being shown.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import ServiceStatus
from ..geo import EARTH_RADIUS_KM, SPHERICAL_ERROR, bounding_box, geodesic_km, spherical_km
from ..models import (
    CouncilArea,
    Location,
    OpeningHours,
    Place,
    Service,
    ServiceType,
    service_type_links,
)
from ..seed.reference import place_key
from .access import AddressViewer
from .hours import END_OF_DAY

DEFAULT_RADIUS_KM = 25
MAX_RADIUS_KM = 1000
PER_PAGE = 10


@dataclass
class Filters:
    types: list[str] = field(default_factory=list)
    same_day: bool = False
    custody: bool = False
    open_now: bool = False
    age: int | None = None
    gender: str | None = None
    veterans: bool = False
    radius_km: float = DEFAULT_RADIUS_KM


@dataclass
class Hit:
    service: Service
    location: Location
    distance_km: float
    # The service's address is confidential for this viewer: its position is given at
    # town level and its address must not be shown.
    address_hidden: bool = False


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    page: int
    pages: int
    radius_km: float
    nearest_outside_km: float | None = None


def filtered_locations(filters: Filters, now_local: dt.datetime | None = None) -> sa.Select:
    """Locations of active services matching every filter but distance; open-now is
    judged at ``now_local``."""
    query = (
        sa.select(
            Location.id,
            Location.service_id,
            Location.latitude,
            Location.longitude,
            Location.town,
            Location.council_area_id,
            Service.confidential_address,
            Service.organisation_id,
        )
        .join(Service, Location.service_id == Service.id)
        .where(Service.status == ServiceStatus.ACTIVE)
    )
    if filters.types:
        query = query.where(
            Service.id.in_(
                sa.select(service_type_links.c.service_id)
                .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
                .where(ServiceType.code.in_(filters.types))
            )
        )
    if filters.same_day:
        query = query.where(Service.same_day_access)
    if filters.custody:
        query = query.where(Service.accepts_custody_referrals)
    if filters.open_now and now_local is not None:
        query = query.where(Service.id.in_(open_service_ids(now_local)))
    if filters.age is not None:
        query = query.where(
            sa.or_(Service.min_age.is_(None), Service.min_age <= filters.age),
            sa.or_(Service.max_age.is_(None), Service.max_age >= filters.age),
        )
    if filters.gender in ("female", "male"):
        query = query.where(Service.gender.in_(["any", filters.gender]))
    if filters.veterans:
        query = query.where(
            sa.or_(
                Service.veterans_only,
                Service.id.in_(
                    sa.select(service_type_links.c.service_id)
                    .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
                    .where(ServiceType.code == "veterans")
                ),
            )
        )
    return query


def open_now_condition(at: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL for "this opening session is open at local time ``at``", the same rule as
    ``hours.is_open``: open from the opening minute, closed from the closing minute,
    sessions closing before they open run past midnight, 23:59 means midnight."""
    day, previous = at.weekday(), (at.weekday() - 1) % 7
    now = dt.time(at.hour, at.minute)
    midnight = END_OF_DAY
    same_day = sa.and_(
        OpeningHours.weekday == day,
        OpeningHours.opens < OpeningHours.closes,
        OpeningHours.opens <= now,
        sa.or_(OpeningHours.closes > now, OpeningHours.closes == midnight),
    )
    overnight_start = sa.and_(
        OpeningHours.weekday == day,
        OpeningHours.closes < OpeningHours.opens,
        OpeningHours.opens <= now,
    )
    overnight_end = sa.and_(
        OpeningHours.weekday == previous,
        OpeningHours.closes < OpeningHours.opens,
        OpeningHours.closes > now,
    )
    return sa.or_(same_day, overnight_start, overnight_end)


def open_service_ids(at: dt.datetime) -> sa.Select:
    return sa.select(OpeningHours.service_id).where(open_now_condition(at))


def _public_positions(session: Session, rows, viewer) -> dict[int, tuple[float, float]]:
    """Town-level positions for the locations whose address ``viewer`` may not see."""
    rows = [r for r in rows if not viewer.reveals(r.confidential_address, r.organisation_id)]
    towns = {place_key(r.town) for r in rows}
    if not towns:
        return {}
    places = {
        p.name_key: (p.latitude, p.longitude)
        for p in session.scalars(sa.select(Place).where(Place.name_key.in_(towns)))
    }
    councils = {
        c.id: (c.latitude, c.longitude)
        for c in session.scalars(
            sa.select(CouncilArea).where(CouncilArea.id.in_({r.council_area_id for r in rows}))
        )
    }
    return {r.id: places.get(place_key(r.town), councils.get(r.council_area_id)) for r in rows}


def search_services(
    session: Session,
    lat: float,
    lon: float,
    filters: Filters,
    *,
    now_local: dt.datetime,
    viewer: AddressViewer,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> SearchResult:
    """Active services matching ``filters`` within the radius of (lat, lon), nearest
    first, one page of them. Where ``viewer`` may not see a confidential address, the
    service is placed, boxed and measured at its town alone: its real position never
    decides whether it is found."""
    radius = filters.radius_km
    box = bounding_box(lat, lon, radius)
    candidates = filtered_locations(filters, now_local)
    in_box = sa.and_(
        Location.latitude.between(box.south, box.north),
        Location.longitude.between(box.west, box.east),
    )
    # Hidden addresses are few: fetch them all and box them by their town below.
    query = candidates.where(in_box if viewer.everything else sa.or_(in_box, _confidential()))
    rows = session.execute(query).all()
    hidden = _public_positions(session, rows, viewer)

    def position(row) -> tuple[float, float]:
        return hidden.get(row.id) or (row.latitude, row.longitude)

    if hidden:
        rows = [r for r in rows if _inside(box, position(r))]

    # Per service: its locations and the spherical distance to the nearest one. (The
    # haversine is written out here: this loop runs over thousands of rows.)
    locations: dict[int, list] = defaultdict(list)
    nearest: dict[int, float] = {}
    lat0, lon0 = math.radians(lat), math.radians(lon)
    cos0 = math.cos(lat0)
    sin, cos, asin, sqrt, rad = math.sin, math.cos, math.asin, math.sqrt, math.radians
    diameter = 2 * EARTH_RADIUS_KM
    for row in rows:
        plat, plon = hidden.get(row.id) or (row.latitude, row.longitude)
        p1 = rad(plat)
        a = sin((p1 - lat0) / 2) ** 2 + cos0 * cos(p1) * sin((rad(plon) - lon0) / 2) ** 2
        d = diameter * asin(min(1.0, sqrt(a)))
        service_id = row.service_id
        locations[service_id].append(row)
        if d < nearest.get(service_id, math.inf):
            nearest[service_id] = d

    exact: dict[int, tuple[float, int]] = {}

    def exact_distance(service_id: int) -> float:
        if service_id not in exact:
            best = min((geodesic_km(lat, lon, *position(r)), r.id) for r in locations[service_id])
            exact[service_id] = best
        return exact[service_id][0]

    inside = []
    for service_id, d in nearest.items():
        low, high = d * (1 - SPHERICAL_ERROR), d * (1 + SPHERICAL_ERROR)
        if high <= radius or (low <= radius and exact_distance(service_id) <= radius):
            inside.append((low, high, service_id))
    total = len(inside)
    pages = max(1, math.ceil(total / per_page))
    start, end = (page - 1) * per_page, page * per_page
    page_ids: list[int] = []
    if start < total:
        # Only services whose lower bound is below the end-th smallest upper bound can
        # be among the first ``end``: compute exact distances for those alone.
        threshold = sorted(h for _, h, _ in inside)[min(end, total) - 1]
        contenders = [sid for low, _, sid in inside if low <= threshold]
        contenders.sort(key=lambda sid: (exact_distance(sid), sid))
        page_ids = contenders[start:end]

    hits = _load_hits(session, page_ids, exact, viewer)
    result = SearchResult(hits, total, page, pages, radius)
    if total == 0:
        result.nearest_outside_km = _nearest_anywhere(
            session, lat, lon, filters, now_local, viewer
        )
    return result


def _confidential() -> sa.ColumnElement[bool]:
    return Service.confidential_address.is_(True)


def _inside(box, position: tuple[float, float]) -> bool:
    latitude, longitude = position
    return box.south <= latitude <= box.north and box.west <= longitude <= box.east


def _load_hits(session, page_ids, exact, viewer: AddressViewer) -> list[Hit]:
    if not page_ids:
        return []
    services = {
        s.id: s
        for s in session.scalars(
            sa.select(Service)
            .where(Service.id.in_(page_ids))
            .options(
                selectinload(Service.types),
                selectinload(Service.opening_hours),
                selectinload(Service.locations),
                selectinload(Service.organisation),
                selectinload(Service.primary_type),
                selectinload(Service.last_verified_by),
            )
        )
    }
    hits = []
    for service_id in page_ids:
        service = services[service_id]
        distance, location_id = exact[service_id]
        location = next(loc for loc in service.locations if loc.id == location_id)
        hidden = not viewer.reveals_service(service)
        hits.append(Hit(service, location, distance, address_hidden=hidden))
    return hits


def _nearest_anywhere(session, lat, lon, filters, now_local, viewer) -> float | None:
    """How far the nearest matching service is, wherever it is (for "search wider")."""
    rows = session.execute(filtered_locations(filters, now_local)).all()
    if not rows:
        return None
    hidden = _public_positions(session, rows, viewer)

    def where(row) -> tuple[float, float]:
        return hidden.get(row.id) or (row.latitude, row.longitude)

    best = min(rows, key=lambda r: spherical_km(lat, lon, *where(r)))
    return geodesic_km(lat, lon, *where(best))
