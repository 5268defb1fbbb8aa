"""A search as someone types it: read the box (place, needs, name), place the origin,
then list the services: nearest first from a place, or by name without one."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .access import AddressViewer
from .gazetteer import Gazetteer
from .geocoder import Geocoder
from .locate import NotFound, Origin, locate
from .query import Understood, understand
from .search import Filters, SearchResult, list_services, search_services
from .taxonomy import TypeRow


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
    types: list[TypeRow] | None = None,
    load=None,
) -> Found:
    """Services for what was typed. With no place in it, distances are from ``home``
    (a custody worker's suite) when given, else the services are listed by name.
    ``types`` are the service types if already read; ``load`` turns a page of ranked
    services into what is shown (``search.load_hits`` by default)."""
    gazetteer = Gazetteer(session)
    understood = understand(session, text, types=types, gazetteer=gazetteer)
    filters = with_query(filters, understood)
    origin: Origin | NotFound | None = None
    if understood.place:
        origin = locate(session, understood.place, geocoder, gazetteer)
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
            load=load,
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
        load=load,
    )
    return Found(understood, origin, result)
