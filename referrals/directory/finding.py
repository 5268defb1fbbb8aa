"""A search as someone types it: read the box (place, needs, name), place the origin,
then list the services: nearest first from a place, or by name without one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .access import AddressViewer
from .geocoder import Geocoder
from .locate import NotFound, Origin, locate
from .query import Understood, understand
from .search import Filters, SearchResult, list_services, search_services


@dataclass
class Found:
    understood: Understood
    origin: Origin | NotFound | None
    result: SearchResult | None


def with_query(filters: Filters, understood: Understood) -> Filters:
    """The form's filters plus the needs and name read from the search box."""
    return dataclasses.replace(
        filters, needs=[*filters.needs, *understood.needs], name=understood.name
    )


def find_services(
    session: Session,
    text: str,
    filters: Filters,
    *,
    geocoder: Geocoder | None,
    now_local: dt.datetime,
    viewer: AddressViewer,
    page: int = 1,
    home: Origin | None = None,
) -> Found:
    """Services for what was typed. With no place in it, distances are from ``home``
    (a custody worker's suite) when given, else the services are listed by name."""
    understood = understand(session, text)
    filters = with_query(filters, understood)
    origin: Origin | NotFound | None = None
    if understood.place:
        origin = locate(session, understood.place, geocoder)
    elif home is not None:
        origin = home
    if isinstance(origin, NotFound):
        return Found(understood, origin, None)
    if origin is None:
        result = list_services(
            session,
            filters,
            now_local=now_local,
            viewer=viewer,
            page=page,
        )
        return Found(understood, None, result)
    result = search_services(
        session,
        origin.latitude,
        origin.longitude,
        filters,
        now_local=now_local,
        viewer=viewer,
        page=page,
    )
    return Found(understood, origin, result)
