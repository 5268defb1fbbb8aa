"""The SQL a search sends for its candidate locations, built once for each kind of
search and run with the box as parameters: building a statement costs more than the
database takes to answer it, and a statement used again keeps its compiled form.

For a viewer who sees every address, one statement: the matching locations in the
box. Otherwise two: the matching locations whose addresses the viewer may see, in the
box; and those whose addresses are hidden, anywhere, with their town's place (joined
on the lower-cased town) and their council area's centre, to be placed there.

On PostgreSQL the rows are read packed: a statement's numbers as one value of
big-endian doubles (``packed_rows``), thousands of rows without a Python object per
row; and the two statements are sent as one (``CandidateSQL.together``), the shown
locations packed beside the hidden ones' numbers packed and their towns.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import NamedTuple

import sqlalchemy as sa

from ..models import CouncilArea, Location, Place
from .access import AddressViewer
from .filters import Filters, locations_in, matching_services

BOX = tuple(sa.bindparam(side, type_=sa.Float) for side in ("south", "north", "west", "east"))
COLUMNS = (Location.id, Location.service_id, Location.latitude, Location.longitude)
# The numbers of a hidden location in ``together``: its id, service id and position,
# its council area's centre and the place joined on its lower-cased town (NaN where
# there is none).
HIDDEN_WIDTH = 8


class CandidateSQL(NamedTuple):
    shown: sa.Select
    # None for a viewer who sees every address
    hidden: sa.Select | None
    # PostgreSQL only: ``shown`` packed; and one row of ``shown`` packed, ``hidden``'s
    # numbers packed (``HIDDEN_WIDTH`` a row), its towns and its lower-cased towns
    # (None for a viewer who sees every address)
    packed: sa.Select | None = None
    together: sa.Select | None = None


def box_parameters(box: tuple[float, float, float, float] | None) -> dict[str, float]:
    if box is None:
        return {}
    return dict(zip(("south", "north", "west", "east"), box, strict=True))


def candidate_queries(
    dialect: str,
    filters: Filters,
    now_local: dt.datetime | None,
    viewer: AddressViewer,
    boxed: bool,
) -> CandidateSQL:
    """The statements for the candidates (see the module's docstring); run them with
    ``box_parameters``. Open-now searches depend on the time, so are built afresh."""
    if filters.open_now:
        return _build(dialect, filters, now_local, viewer, boxed)
    key = (
        tuple(filters.types),
        filters.same_day,
        filters.custody,
        filters.age,
        filters.gender,
        filters.veterans,
        tuple(filters.needs),
        filters.name,
    )
    return _built(dialect, key, viewer, boxed)


@lru_cache(maxsize=256)
def _built(dialect: str, key: tuple, viewer: AddressViewer, boxed: bool):
    types, same_day, custody, age, gender, veterans, needs, name = key
    filters = Filters(
        types=list(types),
        same_day=same_day,
        custody=custody,
        age=age,
        gender=gender,
        veterans=veterans,
        needs=list(needs),
        name=name,
    )
    return _build(dialect, filters, None, viewer, boxed)


def _build(dialect, filters, now_local, viewer: AddressViewer, boxed: bool):
    services = matching_services(filters, now_local)
    box = BOX if boxed else None
    if viewer.everything:
        shown = locations_in(dialect, services, box, *COLUMNS)
        return _with_packed(dialect, shown, None)
    shown = locations_in(dialect, services.where(viewer.shown()), box, *COLUMNS)
    town_key = sa.func.lower(Location.town)
    hidden = (
        locations_in(
            dialect,
            services.where(~viewer.shown()),
            None,
            *COLUMNS,
            Location.town,
            CouncilArea.latitude.label("council_lat"),
            CouncilArea.longitude.label("council_lon"),
            town_key.label("town_key"),
            Place.latitude.label("place_lat"),
            Place.longitude.label("place_lon"),
        )
        .outerjoin(CouncilArea, CouncilArea.id == Location.council_area_id)
        .outerjoin(Place, Place.name_key == town_key)
    )
    if boxed:
        # A town found by its lower-cased name is that place (place keys are lower
        # case, with no punctuation), so those outside the box are left out here; the
        # others are placed by the caller.
        south, north, west, east = BOX
        hidden = hidden.where(
            sa.or_(
                Place.id.is_(None),
                sa.and_(Place.latitude.between(south, north), Place.longitude.between(west, east)),
            )
        )
    return _with_packed(dialect, shown, hidden)


def _with_packed(dialect: str, shown: sa.Select, hidden: sa.Select | None) -> CandidateSQL:
    if dialect != "postgresql":
        return CandidateSQL(shown, hidden)
    packed = packed_rows(shown)
    if hidden is None:
        return CandidateSQL(shown, None, packed)
    rows = hidden.subquery()
    c = list(rows.c)
    numbers = [*c[0:4], c[5], c[6], c[8], c[9]]
    concealed = sa.select(
        sa.func.string_agg(_doubles(numbers, nulls=True), _EMPTY, type_=sa.LargeBinary),
        sa.func.array_agg(c[4]),
        sa.func.array_agg(c[7]),
    ).subquery()
    shown_packed = packed.subquery()
    # Each side is one row (an aggregate): joined on nothing, they are one row.
    together = sa.select(*shown_packed.c, *concealed.c).select_from(
        shown_packed.join(concealed, sa.true())
    )
    return CandidateSQL(shown, hidden, packed, together)


_NAN = sa.literal_column("'NaN'::float8", sa.Float(53))
_EMPTY = sa.literal(b"", sa.LargeBinary)


def _doubles(columns, nulls: bool = False) -> sa.ColumnElement:
    """A row of ``columns`` as big-endian doubles (``float8send``); with ``nulls``,
    NULL as NaN (a NULL would leave the row out)."""
    doubles = [sa.cast(c, sa.Float(53)) for c in columns]
    if nulls:
        doubles = [sa.func.coalesce(d, _NAN) for d in doubles]
    row = sa.func.float8send(doubles[0])
    for double in doubles[1:]:
        row = row.op("||")(sa.func.float8send(double))
    return row


def packed_rows(query: sa.Select) -> sa.Select:
    """``query``'s rows (numeric columns) as one PostgreSQL bytea: each row's columns
    as big-endian doubles, the rows in the order the query gives them."""
    rows = query.subquery()
    return sa.select(sa.func.string_agg(_doubles(rows.c), _EMPTY, type_=sa.LargeBinary))
