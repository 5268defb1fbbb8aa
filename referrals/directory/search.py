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
from dataclasses import astuple, dataclass, field
from functools import lru_cache
from itertools import chain

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..database import BINARY_RESULTS
from ..geo import bounding_box
from ..models import Location, Place, Service
from ..seed.reference import place_key
from .access import AddressViewer
from .candidate_sql import HIDDEN_WIDTH, box_parameters, candidate_queries, packed_rows
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


# A town's place key (three regular expressions) is worked out once per process: the
# same few towns are hidden in every search.
_place_key = lru_cache(maxsize=4096)(place_key)


def candidates(session, filters, now_local, box, viewer: AddressViewer) -> Ranking | None:
    """The matching locations in ``box`` as arrays for ranking. A location whose address
    ``viewer`` may not see is placed, boxed and measured at its town alone, so its real
    position never decides whether it is found: those (few) are read wherever they are
    and kept when their town is in the box. On PostgreSQL both kinds come in one
    statement (each statement costs a request more than these rows do)."""
    dialect = session.get_bind().dialect.name
    sql = candidate_queries(dialect, filters, now_local, viewer, box is not None)
    shown, hidden = sql.shown, sql.hidden
    parameters = box_parameters(box)
    if hidden is None:
        table = numbers(session, shown, 4, parameters, packed=sql.packed)
    else:
        if sql.together is not None:
            table, *concealed = _together(session, sql.together, parameters)
        else:
            table = numbers(session, shown, 4, parameters)
            concealed = _hidden_rows(session.connection().execute(hidden, parameters).all())
        placed = _hidden(session, *concealed, box)
        if placed is not None:
            table = placed if table is None else np.vstack([table, placed])
    if table is None:
        return None
    ids, service_ids = table[:, 0].astype(np.int64), table[:, 1].astype(np.int64)
    return ids, service_ids, table[:, 2].copy(), table[:, 3].copy()


def _hidden_rows(rows) -> tuple[np.ndarray | None, list[str], list[str]]:
    """The rows of ``candidate_sql``'s second statement as ``_hidden`` takes them."""
    if not rows:
        return None, [], []
    table = np.array(
        [(r.id, r.service_id, *r[2:4], r.council_lat, r.council_lon, *r[-2:]) for r in rows],
        dtype=np.float64,
    )
    return table, [r.town for r in rows], [r.town_key for r in rows]


def _hidden(session, table, towns, town_keys, box) -> np.ndarray | None:
    """Locations whose addresses are hidden (``HIDDEN_WIDTH`` columns, with their towns
    and lower-cased towns) each at its town's position, else its council area's, those
    inside ``box`` (None: all), as rows of id, service id, latitude, longitude. A town
    whose key is more than its lower case ("St Andrews", "Saint Andrews") is looked up
    by its key."""
    if table is None or not len(table):
        return None
    keys = [_place_key(town) for town in towns]
    place = table[:, 6:8].copy()
    other = [i for i, (key, lower) in enumerate(zip(keys, town_keys, strict=True)) if key != lower]
    if other:
        place[other] = np.nan
        missing = {keys[i] for i in other}
        places = {
            key: (lat, lon)
            for key, lat, lon in session.connection().execute(
                sa.select(Place.name_key, Place.latitude, Place.longitude).where(
                    Place.name_key.in_(missing)
                )
            )
        }
        for i in other:
            if keys[i] in places:
                place[i] = places[keys[i]]
    council = table[:, 4:6]
    at_place, at_council = ~np.isnan(place[:, 0]), ~np.isnan(council[:, 0])
    table = table[:, :4].copy()
    table[at_council, 2:4] = council[at_council]
    table[at_place, 2:4] = place[at_place]
    if box is not None:
        south, north, west, east = box
        lats, lons = table[:, 2], table[:, 3]
        table = table[(lats >= south) & (lats <= north) & (lons >= west) & (lons <= east)]
    return table if len(table) else None


def _together(session, together: sa.Select, parameters: dict):
    """Both kinds of candidate from ``CandidateSQL.together``: the shown locations as
    ``numbers`` gives them, and the hidden ones as a ``HIDDEN_WIDTH`` table with their
    towns and lower-cased towns."""
    result = session.connection().execute(
        together, parameters, execution_options={BINARY_RESULTS: True}
    )
    packed, concealed, towns, town_keys = result.one()
    table = _unpacked(packed, 4)
    if not concealed:
        return table, None, [], []
    return table, _unpacked(concealed, HIDDEN_WIDTH), towns, town_keys


def numbers(
    session: Session,
    query: sa.Select,
    width: int,
    parameters: dict | None = None,
    packed: sa.Select | None = None,
) -> np.ndarray | None:
    """The rows of ``query`` (``width`` numeric columns) as one array, straight from the
    database driver: thousands of rows without a Python object per row. On PostgreSQL
    the rows arrive as one value, their numbers packed as binary doubles in the order
    the query gives them (``packed``: ``packed_rows(query)`` if already built);
    elsewhere, row by row."""
    if session.get_bind().dialect.name == "postgresql":
        packed = session.connection().execute(
            packed if packed is not None else packed_rows(query),
            parameters or {},
            execution_options={BINARY_RESULTS: True},
        )
        return _unpacked(packed.scalar(), width)
    result = session.connection().execute(query, parameters or {})
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    if not rows:
        return None
    flat = chain.from_iterable(rows)
    return np.fromiter(flat, np.float64, width * len(rows)).reshape(-1, width)


def _unpacked(data: bytes | None, width: int) -> np.ndarray | None:
    if not data:
        return None
    return np.frombuffer(data, dtype=">f8").astype(np.float64).reshape(-1, width)


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
        inside, spherical = ranking.within(radius, page * per_page)
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
            inside, spherical = ranking.within(math.inf if whole_world else reach, count)
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
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)  # a page past the last (typed in the address) is the last
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
    return SearchResult(hits, total, page, pages, None)


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
