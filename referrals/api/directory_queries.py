"""Which directory records a public API request asks for, as SQL conditions.

The HSDS filters: ``search`` (every word must appear in the service's name, description,
organisation or type), ``taxonomy_term_id``, ``taxonomy_id``, ``organization_id`` and
``modified_after`` (changed on or after that time), and the local ``type`` (any of the
type codes given); a service must meet every filter sent. Inactive services are left
out, except when asking what changed since a time: a system keeping a copy must learn
that a service closed. Their locations are left out always, as confidential addresses
are: a location is published only while its service is listed (not inactive), so the
lists of services at locations and each one on its own agree. ``postcode`` limits
locations to services covering its council area, and with ``proximity`` (metres) to
those that close to it, nearest first: the locations in the bounding box are measured
in one vectorised pass and put in order here, so the list's pages are taken from that
order, not from SQL holding an id per location (thousands of them within a few hundred
kilometres).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import ServiceStatus
from ..directory.locate import NotFound, locate
from ..directory.nearness import vincenty_km_array
from ..geo import bounding_box, geodesic_km
from ..models import (
    Location,
    Organisation,
    Service,
    ServiceType,
    service_areas,
    service_type_links,
)
from .hsds import TAXONOMY_ID
from .params import ApiError

MAX_PROXIMITY_M = 500_000


@dataclass
class DirectoryFilter:
    search: str | None = None
    taxonomy_term_id: UUID | None = None
    taxonomy_id: UUID | None = None
    organization_id: UUID | None = None
    modified_after: dt.datetime | None = None
    # With ``modified_after``: services changed before this time only (``settled_before``).
    settled_before: dt.datetime | None = None
    type_codes: list[str] = field(default_factory=list)


def _contains(column: sa.ColumnElement, word: str) -> sa.ColumnElement[bool]:
    return sa.func.lower(column).contains(word.lower(), autoescape=True)


def _has_type(term: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return Service.id.in_(
        sa.select(service_type_links.c.service_id)
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(term)
    )


def service_conditions(f: DirectoryFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if f.modified_after is None:
        conditions.append(Service.status != ServiceStatus.INACTIVE)
    else:
        conditions.append(Service.updated_at >= f.modified_after)
        if f.settled_before is not None:
            conditions.append(Service.updated_at < f.settled_before)
    for word in (f.search or "").split():
        conditions.append(
            sa.or_(
                _contains(Service.name, word),
                _contains(sa.func.coalesce(Service.description, ""), word),
                Service.organisation_id.in_(
                    sa.select(Organisation.id).where(_contains(Organisation.name, word))
                ),
                Service.id.in_(
                    sa.select(service_type_links.c.service_id)
                    .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
                    .where(_contains(ServiceType.name, word))
                ),
            )
        )
    if f.taxonomy_term_id is not None:
        conditions.append(_has_type(ServiceType.uuid == f.taxonomy_term_id))
    if f.type_codes:
        conditions.append(_has_type(ServiceType.code.in_(f.type_codes)))
    if f.taxonomy_id is not None and f.taxonomy_id != TAXONOMY_ID:
        conditions.append(sa.false())
    if f.organization_id is not None:
        conditions.append(
            Service.organisation_id.in_(
                sa.select(Organisation.id).where(Organisation.uuid == f.organization_id)
            )
        )
    return conditions


def loaded_services() -> sa.Select:
    return sa.select(Service).options(
        selectinload(Service.organisation),
        selectinload(Service.locations).selectinload(Location.council_area),
        selectinload(Service.opening_hours),
        selectinload(Service.areas_served),
        selectinload(Service.types),
    )


def services_by_id(session: Session, ids: list[int]) -> list[Service]:
    found = {s.id: s for s in session.scalars(loaded_services().where(Service.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def organisation_services(session: Session, org: Organisation) -> list[Service]:
    """The organisation's services that are listed (not inactive)."""
    ids = session.scalars(
        sa.select(Service.id)
        .where(Service.organisation_id == org.id, *service_conditions(DirectoryFilter()))
        .order_by(Service.id)
    )
    return services_by_id(session, list(ids))


def locations_by_id(session: Session, ids: list[int]) -> list[Location]:
    found = {
        loc.id: loc
        for loc in session.scalars(
            sa.select(Location)
            .where(Location.id.in_(ids))
            .options(
                selectinload(Location.council_area),
                selectinload(Location.service).options(
                    selectinload(Service.organisation),
                    selectinload(Service.locations).selectinload(Location.council_area),
                    selectinload(Service.opening_hours),
                    selectinload(Service.areas_served),
                    selectinload(Service.types),
                ),
            )
        )
    }
    return [found[i] for i in ids if i in found]


def public_location_ids(f: DirectoryFilter) -> sa.Select:
    """Locations of matching services whose addresses are public, in a stable order: never
    those of an inactive service (even among what changed since a time, which lists the
    service itself), nor confidential addresses."""
    return (
        sa.select(Location.id)
        .join(Service, Service.id == Location.service_id)
        .where(
            ~Service.confidential_address,
            Service.status != ServiceStatus.INACTIVE,
            *service_conditions(f),
        )
        .order_by(Location.id)
    )


def near_postcode(
    session: Session, ids: sa.Select, postcode: str, proximity_m: int | None
) -> tuple[sa.Select, list[int] | None]:
    """``ids`` narrowed to services covering ``postcode``'s council area; or, with
    ``proximity_m``, the ids of the locations within that many metres of it, nearest
    first (ties by id), beside ``ids`` as it was (to check a long stream against)."""
    origin = locate(session, postcode)
    if isinstance(origin, NotFound):
        raise ApiError(400, f"postcode: {origin.message}", {"postcode": origin.message})
    if proximity_m is None:
        if origin.council_area_id is None:
            message = "We do not know which council area that postcode is in: add proximity."
            raise ApiError(400, f"postcode: {message}", {"postcode": message})
        covering = sa.select(service_areas.c.service_id).where(
            service_areas.c.council_area_id == origin.council_area_id
        )
        return ids.where(Location.service_id.in_(covering)), None
    box = bounding_box(origin.latitude, origin.longitude, proximity_m / 1000)
    candidates = session.execute(
        ids.add_columns(Location.latitude, Location.longitude)
        .where(Location.latitude.between(box.south, box.north))
        .where(Location.longitude.between(box.west, box.east))
        .order_by(None)
    ).all()
    if not candidates:
        return ids, []
    found = np.array([row[0] for row in candidates])
    lats = np.array([row[1] for row in candidates], dtype=float)
    lons = np.array([row[2] for row in candidates], dtype=float)
    km = vincenty_km_array(origin.latitude, origin.longitude, lats, lons)
    for i in np.flatnonzero(np.isnan(km)):  # nearly antipodal: Vincenty does not converge
        km[i] = geodesic_km(origin.latitude, origin.longitude, lats[i], lons[i])
    order = np.lexsort((found, km))  # nearest first, then by id
    return ids, [int(found[i]) for i in order if km[i] * 1000 <= proximity_m]
