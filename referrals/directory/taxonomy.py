"""The service types as a page needs them: read once per request as plain rows, for the
filter's choices, the words read from the search box and the map's key and markers."""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import ServiceType


class TypeRow(NamedTuple):
    id: int
    code: str
    name: str
    colour: str
    abbreviation: str


_TYPES = sa.select(
    ServiceType.id,
    ServiceType.code,
    ServiceType.name,
    ServiceType.colour,
    ServiceType.abbreviation,
).order_by(ServiceType.sort_order, ServiceType.id)


def service_types(session: Session) -> list[TypeRow]:
    """Every service type, in the taxonomy's order."""
    return [TypeRow(*row) for row in session.connection().execute(_TYPES)]


def code_names(types: list[TypeRow]) -> tuple[tuple[str, str], ...]:
    return tuple((t.code, t.name) for t in types)
