"""The SQL a search sends for its candidate locations, built once for each kind of
search and run with the box as parameters: building a statement costs more than the
database takes to answer it, and a statement used again keeps its compiled form.

For a viewer who sees every address, one statement: the matching locations in the
box. Otherwise two: the matching locations whose addresses the viewer may see, in the
box; and those whose addresses are hidden, anywhere, with their town's place (joined
on the lower-cased town) and their council area's centre, to be placed there.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import sqlalchemy as sa

from ..models import CouncilArea, Location, Place
from .access import AddressViewer
from .filters import Filters, locations_in, matching_services

BOX = tuple(sa.bindparam(side, type_=sa.Float) for side in ("south", "north", "west", "east"))
COLUMNS = (Location.id, Location.service_id, Location.latitude, Location.longitude)


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
) -> tuple[sa.Select, sa.Select | None]:
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
        return locations_in(dialect, services, box, *COLUMNS), None
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
    return shown, hidden
