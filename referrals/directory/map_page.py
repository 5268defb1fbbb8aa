"""What the services map page reads besides the search: the council areas (the first
view, and place names for a map without background tiles) and the stored extras (the
areas' outline, open-data attributions), each in one statement."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AppSetting, CouncilArea
from ..outlines import OUTLINE

# The first view when no council area is loaded: Great Britain.
DEFAULT_EXTENT = [[49.9, -8.2], [60.9, 1.8]]


class AreaRow(NamedTuple):
    name: str
    latitude: float
    longitude: float


_AREAS = sa.select(CouncilArea.name, CouncilArea.latitude, CouncilArea.longitude).order_by(
    CouncilArea.name
)


def council_areas(session: Session) -> list[AreaRow]:
    """Every council area's name and centre, by name."""
    return [AreaRow(*row) for row in session.connection().execute(_AREAS)]


def extent_of(areas: list[AreaRow]) -> list[list[float]]:
    """The box around the areas' centres, padded: the map's first view."""
    if not areas:
        return DEFAULT_EXTENT
    lats = [a.latitude for a in areas]
    lons = [a.longitude for a in areas]
    return [[min(lats) - 0.3, min(lons) - 0.5], [max(lats) + 0.3, max(lons) + 0.5]]


def area_extent(session: Session) -> list[list[float]]:
    """``extent_of`` every council area, computed by the database."""
    south, north, west, east = (
        session.connection()
        .execute(
            sa.select(
                sa.func.min(CouncilArea.latitude),
                sa.func.max(CouncilArea.latitude),
                sa.func.min(CouncilArea.longitude),
                sa.func.max(CouncilArea.longitude),
            )
        )
        .one()
    )
    if south is None:
        return DEFAULT_EXTENT
    return [[south - 0.3, west - 0.5], [north + 0.3, east + 0.5]]


# The outline, which can be large, only as whether it is there (an empty text).
_STORED = sa.select(
    AppSetting.key, sa.case((AppSetting.key == OUTLINE, ""), else_=AppSetting.value)
).where(AppSetting.key.in_(sa.bindparam("keys", expanding=True)))


def stored(session: Session, keys: list[str]) -> dict[str, str]:
    """The app settings among ``keys`` that are stored, by key; the outline only as
    whether it is there."""
    if not keys:
        return {}
    rows = session.connection().execute(_STORED, {"keys": keys})
    return {key: text for key, text in rows}
