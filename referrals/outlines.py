"""A light outline of every council area's edges (each shared edge once), made when
boundaries are imported, for maps that draw areas only as a background (the services
map with no tile server)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .models import AppSetting

OUTLINE = "boundaries.outline"


def store_outline(session: Session, geojson: str) -> None:
    row = session.get(AppSetting, OUTLINE)
    if row is None:
        session.add(AppSetting(key=OUTLINE, value=geojson))
    else:
        row.value = geojson


def outline(session: Session) -> str | None:
    row = session.get(AppSetting, OUTLINE)
    return row.value if row is not None else None
