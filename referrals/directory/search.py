"""Directory search: the services matching the filters within the radius of a point,
nearest first, a page at a time, with the exact count; with none inside the radius, the
nearest few outside it. Without a point (a search by name or need alone), the matching
services in name order.

The spatial index gives the locations inside the radius's bounding box; only their ids
and positions are read, and ``nearness.Ranking`` decides distances. The nearest few
outside the radius are found by asking the index for ever wider boxes, so a search with
nothing nearby reads the neighbourhood, not the whole directory.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from dataclasses import astuple, dataclass, field
from itertools import chain

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..database import BINARY_RESULTS
from ..geo import bounding_box
from ..models import Location, Place, Service
from ..seed.reference import place_key
from .access import AddressViewer
from .candidate_sql import box_parameters, candidate_queries
from .filters import (  # noqa: F401  (the search's vocabulary, used with it)
    DEFAULT_RADIUS_KM,
    MAX_RADIUS_KM,
    Filters,
    Need,
    locations_in,
    matching_services,
    open_service_ids,
)
from .nearness import Ranking

PER_PAGE = 10
NEAREST_FEW = 3
# Past this the search for the nearest few reads every location (the whole world).
WHOLE_WORLD_KM = 5000


@dataclass
class Hit:
    service: Service
    location: Location | None
    distance_km: float | None
    # The service's address is confidential for this viewer: its position is given at
    # town level and its address must not be shown.
    address_hidden: bool = False


@dataclass
class SearchResult:
    hits: list[Hit]
    total: int
    page: int
    pages: int
    radius_km: float | None
    nearest_outside_km: float | None = None
    nearest_outside: list[Hit] = field(default_factory=list)


def _public_positions(session: Session, rows) -> list[tuple[float, float] | None]:
    """Town-level positions for locations whose address is confidential: the town's,
    else the council area's. Each row carries the place joined on its lower-cased town
    (``town_key``); a town whose key is more than that ("St Andrews", "Saint
    Andrews") is looked up by its key."""
    keys = {town: place_key(town) for town in {r.town for r in rows}}
    missing = {keys[r.town] for r in rows if r.town_key != keys[r.town]}
    places = {}
    if missing:
        places = {
            key: (lat, lon)
            for key, lat, lon in session.connection().execute(
                sa.select(Place.name_key, Place.latitude, Place.longitude).where(
                    Place.name_key.in_(missing)
                )
            )
        }
    positions = []
    for r in rows:
        if r.town_key == keys[r.town]:
            place = (r.place_lat, r.place_lon) if r.place_lat is not None else None
        else:
            place = places.get(keys[r.town])
        council = (r.council_lat, r.council_lon) if r.council_lat is not None else None
        positions.append(place or council)
    return positions


def candidates(session, filters, now_local, box, viewer: AddressViewer) -> Ranking | None:
    """The matching locations in ``box`` as arrays for ranking. A location whose address
    ``viewer`` may not see is placed, boxed and measured at its town alone, so its real
    position never decides whether it is found: those (few) are read wherever they are
    and kept when their town is in the box."""
    dialect = session.get_bind().dialect.name
    shown, hidden = candidate_queries(dialect, filters, now_local, viewer, box is not None)
    parameters = box_parameters(box)
    table = numbers(session, shown, 4, parameters)
    if hidden is not None:
        placed = _hidden(session, session.connection().execute(hidden, parameters).all(), box)
        if placed is not None:
            table = placed if table is None else np.vstack([table, placed])
    if table is None:
        return None
    ids, service_ids = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    return ids, service_ids, table[:, 2].copy(), table[:, 3].copy()


def _hidden(session, rows, box) -> np.ndarray | None:
    """Locations whose addresses are hidden (rows of ``candidate_sql``'s second
    statement), each at its town's position, those inside ``box`` (None: all), as rows
    of id, service id, latitude, longitude."""
    if not rows:
        return None
    table = np.array([r[:4] for r in rows], dtype=np.float64).reshape(-1, 4)
    for i, position in enumerate(_public_positions(session, rows)):
        if position is not None:
            table[i, 2:4] = position
    if box is not None:
        south, north, west, east = box
        lats, lons = table[:, 2], table[:, 3]
        table = table[(lats >= south) & (lats <= north) & (lons >= west) & (lons <= east)]
    return table if len(table) else None


def numbers(
    session: Session, query: sa.Select, width: int, parameters: dict | None = None
) -> np.ndarray | None:
    """The rows of ``query`` (``width`` numeric columns) as one array, straight from the
    database driver: thousands of rows without a Python object per row. On PostgreSQL
    the rows arrive as one value, their numbers packed as binary doubles in the order
    the query gives them; elsewhere, row by row."""
    if session.get_bind().dialect.name == "postgresql":
        packed = session.connection().execute(
            _packed(query), parameters or {}, execution_options={BINARY_RESULTS: True}
        )
        data = packed.scalar()
        if not data:
            return None
        return np.frombuffer(data, dtype=">f8").astype(np.float64).reshape(-1, width)
    result = session.connection().execute(query, parameters or {})
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if not rows:
        return None
    flat = chain.from_iterable(rows)
    return np.fromiter(flat, np.float64, width * len(rows)).reshape(-1, width)


# The packed form of each query read by ``numbers`` (the statements are built once
# each, so are few), kept with the query so that it too keeps its compiled form.
_PACKED: weakref.WeakKeyDictionary[sa.Select, sa.Select] = weakref.WeakKeyDictionary()


def _packed(query: sa.Select) -> sa.Select:
    """``query``'s rows as one PostgreSQL bytea: each row's columns as big-endian
    doubles (``float8send``), the rows in the order the query gives them."""
    found = _PACKED.get(query)
    if found is None:
        rows = query.subquery()
        doubles = [sa.func.float8send(sa.cast(c, sa.Float(53))) for c in rows.c]
        row = doubles[0]
        for double in doubles[1:]:
            row = row.op("||")(double)
        empty = sa.literal(b"", sa.LargeBinary)
        found = _PACKED[query] = sa.select(sa.func.string_agg(row, empty, type_=sa.LargeBinary))
    return found


def _ranking(session, lat, lon, filters, now_local, box, viewer) -> Ranking | None:
    found = candidates(session, filters, now_local, box, viewer)
    return Ranking(lat, lon, *found) if found is not None else None


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
    load=None,
) -> SearchResult:
    """Active services matching ``filters`` within the radius of (lat, lon), nearest
    first, one page of them; with none inside, the nearest few outside it. ``load``
    turns the page's services into hits (``load_hits``: ORM objects, by default)."""
    load = load or load_hits
    radius = filters.radius_km
    box = astuple(bounding_box(lat, lon, radius))
    ranking = _ranking(session, lat, lon, filters, now_local, box, viewer)
    page_ids: list[int] = []
    total = 0
    if ranking is not None:
        inside, spherical = ranking.within(radius)
        total = len(inside)
        page_ids = ranking.page(inside, spherical, (page - 1) * per_page, page * per_page)
    exact = ranking.exact if ranking is not None else {}
    hits = load(session, page_ids, exact, viewer)
    result = SearchResult(hits, total, page, max(1, math.ceil(total / per_page)), radius)
    if total == 0:
        result.nearest_outside = nearest_services(
            session, lat, lon, filters, now_local=now_local, viewer=viewer, load=load
        )
        if result.nearest_outside:
            result.nearest_outside_km = result.nearest_outside[0].distance_km
    return result


def nearest_services(
    session: Session,
    lat: float,
    lon: float,
    filters: Filters,
    *,
    now_local: dt.datetime,
    viewer: AddressViewer,
    count: int = NEAREST_FEW,
    load=None,
) -> list[Hit]:
    """The ``count`` nearest matching services at any distance. The spatial index is
    asked for ever wider boxes until ``count`` services lie within the box's circle
    (the nearest are then among them), or the box is the whole world."""
    reach = max(filters.radius_km, 10) * 2
    while True:
        whole_world = reach >= WHOLE_WORLD_KM
        box = None if whole_world else astuple(bounding_box(lat, lon, reach))
        ranking = _ranking(session, lat, lon, filters, now_local, box, viewer)
        if ranking is not None:
            inside, spherical = ranking.within(math.inf if whole_world else reach)
            if len(inside) >= count or whole_world:
                ids = ranking.page(inside, spherical, 0, count)
                return (load or load_hits)(session, ids, ranking.exact, viewer)
        elif whole_world:
            return []
        reach *= 2 if ranking is not None else 4


def list_services(
    session: Session,
    filters: Filters,
    *,
    now_local: dt.datetime,
    viewer: AddressViewer,
    page: int = 1,
    per_page: int = PER_PAGE,
    load=None,
) -> SearchResult:
    """Active services matching ``filters`` anywhere, by name (for a search by name or
    need with no place)."""
    services = matching_services(filters, now_local).subquery()
    total = session.scalar(sa.select(sa.func.count()).select_from(services)) or 0
    page_ids = list(
        session.scalars(
            sa.select(Service.id)
            .where(Service.id.in_(sa.select(services.c.id)))
            .order_by(sa.func.lower(Service.name), Service.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    hits = (load or load_hits)(session, page_ids, {}, viewer)
    return SearchResult(hits, total, page, max(1, math.ceil(total / per_page)), None)


def load_hits(session, page_ids, exact, viewer) -> list[Hit]:
    """The services ``page_ids`` as hits, in that order: each at its nearest location
    (``exact``: service id -> (km, location id)), else at its first."""
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
        hidden = not viewer.reveals_service(service)
        if service_id in exact:
            distance, location_id = exact[service_id]
            location = next(loc for loc in service.locations if loc.id == location_id)
        else:
            distance, location = None, (service.locations[0] if service.locations else None)
        hits.append(Hit(service, location, distance, address_hidden=hidden))
    return hits
