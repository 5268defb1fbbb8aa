"""The directory as CSV for download, streamed in constant memory.

Services are read a batch at a time in id order (keyset: ``id > last``), with their
related rows, in a session of their own that forgets each batch once written, so memory
stays flat however large the directory. The rows are ``exchange.export_rows``: the
format ``import-services`` reads.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload

from ..choices import ServiceStatus
from ..models import Service
from .exchange import csv_text, export_rows

BATCH = 500


def _listed(include_inactive: bool) -> sa.Select:
    query = sa.select(Service)
    if not include_inactive:
        query = query.where(Service.status != ServiceStatus.INACTIVE)
    return query


def export_count(session: Session, *, include_inactive: bool) -> int:
    listed = _listed(include_inactive).with_only_columns(Service.id).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(listed)) or 0


def services_in_batches(session: Session, *, include_inactive: bool) -> Iterator[Service]:
    last = 0
    while True:
        batch = session.scalars(
            _listed(include_inactive)
            .where(Service.id > last)
            .order_by(Service.id)
            .limit(BATCH)
            .options(
                selectinload(Service.types),
                selectinload(Service.primary_type),
                selectinload(Service.opening_hours),
                selectinload(Service.locations),
                selectinload(Service.areas_served),
                selectinload(Service.organisation),
            )
        ).all()
        if not batch:
            return
        yield from batch
        last = batch[-1].id
        session.expunge_all()


def export_stream(
    engine: Engine, *, include_inactive: bool, include_confidential: bool
) -> Iterator[str]:
    """The CSV text, a line at a time."""
    with Session(engine) as session:
        services = services_in_batches(session, include_inactive=include_inactive)
        yield from csv_text(export_rows(services, include_confidential=include_confidential))
