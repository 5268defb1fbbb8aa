"""The directory as CSV for download, streamed in constant memory.

Services are read a batch at a time in id order (keyset: ``id > last``) as plain rows,
with their types, areas, opening hours and locations read for the whole batch at once,
so memory stays flat and no ORM object is built, however large the directory. The rows
are in the format ``import-services`` reads (``exchange.COLUMNS``), a listing made on the
website named ``service-<id>`` so that importing the file updates it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..csvsafe import csv_lines
from ..models import (
    CouncilArea,
    Location,
    OpeningHours,
    Organisation,
    Service,
    ServiceType,
    service_areas,
    service_type_links,
)
from .access import AddressViewer
from .hours import format_hours
from .import_matching import exported_id
from .import_rows import COLUMNS

BATCH = 500
SERVICE_COLUMNS = [c for c in Service.__table__.columns]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def export_rows(services: Iterable[Service], viewer: AddressViewer) -> Iterator[list]:
    """CSV rows (header first) for ``services``, in the import format. Confidential
    addresses are left out unless ``viewer`` may see them."""
    yield COLUMNS
    for s in services:
        hidden = not viewer.reveals_service(s)
        for location in s.locations:
            yield [
                s.external_id or exported_id(s.id),
                s.organisation.name,
                s.name,
                s.description or "",
                ";".join(t.code for t in s.types),
                s.primary_type.code,
                "" if s.min_age is None else str(s.min_age),
                "" if s.max_age is None else str(s.max_age),
                s.gender.value,
                _yes(s.veterans_only),
                _yes(s.self_referral),
                _yes(s.accepts_custody_referrals),
                _yes(s.same_day_access),
                s.phone or "",
                s.email or "",
                s.website or "",
                s.referral_method or "",
                "" if s.typical_wait_days is None else str(s.typical_wait_days),
                s.status.value,
                s.alert or "",
                _yes(s.confidential_address),
                "" if hidden else (location.name or ""),
                "" if hidden else location.address_1,
                "" if hidden else (location.address_2 or ""),
                location.town,
                "" if hidden else location.postcode,
                "" if hidden else Decimal(f"{location.latitude:.6f}"),
                "" if hidden else Decimal(f"{location.longitude:.6f}"),
                ";".join(a.code for a in s.areas_served),
                format_hours(s.opening_hours),
                s.last_verified_on.isoformat() if s.last_verified_on else "",
            ]


def _listed(include_inactive: bool) -> sa.Select:
    query = sa.select(Service.id)
    if not include_inactive:
        query = query.where(Service.status != ServiceStatus.INACTIVE)
    return query


def export_count(session: Session, *, include_inactive: bool) -> int:
    listed = _listed(include_inactive).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(listed)) or 0


def _grouped(connection: Connection, query: sa.Select) -> dict[int, list]:
    """Rows of ``query`` (service id first) by service id."""
    groups: dict[int, list] = defaultdict(list)
    for row in connection.execute(query):
        groups[row[0]].append(row)
    return groups


def _batch(connection: Connection, ids: list[int]) -> list[SimpleNamespace]:
    """The services ``ids`` with everything their rows show, as plain records."""
    services = connection.execute(
        sa.select(
            *SERVICE_COLUMNS,
            Organisation.name.label("organisation_name"),
            ServiceType.code.label("primary_type_code"),
        )
        .join(Organisation, Organisation.id == Service.organisation_id)
        .join(ServiceType, ServiceType.id == Service.primary_type_id)
        .where(Service.id.in_(ids))
        .order_by(Service.id)
    ).all()
    types = _grouped(
        connection,
        sa.select(service_type_links.c.service_id, ServiceType.code)
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(service_type_links.c.service_id.in_(ids))
        .order_by(service_type_links.c.service_id, ServiceType.sort_order),
    )
    areas = _grouped(
        connection,
        sa.select(service_areas.c.service_id, CouncilArea.code)
        .join(CouncilArea, CouncilArea.id == service_areas.c.council_area_id)
        .where(service_areas.c.service_id.in_(ids))
        .order_by(service_areas.c.service_id, CouncilArea.name),
    )
    hours = _grouped(
        connection,
        sa.select(
            OpeningHours.service_id, OpeningHours.weekday, OpeningHours.opens, OpeningHours.closes
        ).where(OpeningHours.service_id.in_(ids)),
    )
    locations = _grouped(
        connection,
        sa.select(
            Location.service_id,
            Location.name,
            Location.address_1,
            Location.address_2,
            Location.town,
            Location.postcode,
            Location.latitude,
            Location.longitude,
        )
        .where(Location.service_id.in_(ids))
        .order_by(Location.service_id, Location.id),
    )
    records = []
    for row in services:
        record = SimpleNamespace(**row._mapping)
        record.organisation = SimpleNamespace(name=row.organisation_name)
        record.primary_type = SimpleNamespace(code=row.primary_type_code)
        record.types = [SimpleNamespace(code=t.code) for t in types[row.id]]
        record.areas_served = [SimpleNamespace(code=a.code) for a in areas[row.id]]
        record.opening_hours = hours[row.id]
        record.locations = locations[row.id]
        records.append(record)
    return records


def services_in_batches(connection: Connection, *, include_inactive: bool):
    last = 0
    while True:
        ids = list(
            connection.scalars(
                _listed(include_inactive)
                .where(Service.id > last)
                .order_by(Service.id)
                .limit(BATCH)
            )
        )
        if not ids:
            return
        yield from _batch(connection, ids)
        last = ids[-1]


def export_stream(
    engine: Engine, *, include_inactive: bool, viewer: AddressViewer
) -> Iterator[str]:
    """The CSV text, a line at a time, every cell safe from spreadsheet formulas;
    confidential addresses only where ``viewer`` may see them."""
    with engine.connect() as connection:
        services = services_in_batches(connection, include_inactive=include_inactive)
        yield from csv_lines(export_rows(services, viewer))
