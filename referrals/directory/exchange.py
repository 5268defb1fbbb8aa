"""Services from CSV, in the format the export writes.

One row per location; a service with several locations has several rows with the same
``external_id``, and its service fields are read from the first of them. Importing checks
every row first and imports nothing if any row is wrong, reporting each bad row by line
number. A row changes only the service it names, and only as far as the file says:

- Services are matched on ``external_id``. A listing made on the website has none: the
  export names it ``service-<id>``, which is matched back to that listing. So importing
  a file again, or an export, updates the services instead of adding copies.
- An existing service stays with its organisation: a row naming another is refused,
  since the service's past referrals, with people's details, would go with it to the
  other organisation's staff. Organisation names match whatever their case and spacing.
- For an existing service, a column the file leaves out, and an empty yes/no, gender or
  status cell, leave that field as it is: a file made to correct phone numbers must not
  make a refuge's address public or reopen a closed service. Other empty cells clear the
  field. New services get the defaults.
- A cell holding a character the database cannot store (NUL, half of a broken
  character) is refused like any other bad cell, rather than failing as it is saved.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass, field
from typing import TextIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..csvsafe import csv_uncell
from ..models import CouncilArea, Service, ServiceType
from .import_matching import Organisations, existing_services
from .import_rows import (
    COLUMNS,
    POSITIONS,
    REQUIRED,
    UNSTORABLE,
    Listing,
    RowReader,
    read_service,
    unstorable,
)
from .listings import SIMPLE_FIELDS, Lookups, ServiceData, apply_service_data, paired_locations

__all__ = ["COLUMNS", "REQUIRED", "ImportReport", "import_services", "too_many_rows"]

MAX_ROWS = 50_000
FLUSH_EVERY = 2000
# An empty cell here cannot mean "none": on an existing service it means "as it is".
KEEP_WHEN_EMPTY = frozenset(
    {
        "gender",
        "veterans_only",
        "self_referral",
        "accepts_custody_referrals",
        "same_day_access",
        "status",
        "confidential_address",
    }
)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    # Changes someone should look at: an address made public or confidential, a status.
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


NOT_UTF8 = 'the file is not UTF-8 text: in Excel, save it again as "CSV UTF-8 (Comma delimited)"'


def import_services(
    session: Session, stream: TextIO, today: dt.date, max_rows: int = MAX_ROWS
) -> ImportReport:
    """Check every row of a services CSV; if all are good, create or update the services.

    Nothing is written when any row is bad. The caller commits (or rolls back).
    """
    try:
        return _import_services(session, stream, today, max_rows)
    finally:
        session.info.pop(POSITIONS, None)


def _import_services(
    session: Session, stream: TextIO, today: dt.date, max_rows: int
) -> ImportReport:
    report = ImportReport()
    reader = csv.DictReader(stream)
    try:
        fieldnames = reader.fieldnames  # reads the first line
    except csv.Error as exc:
        report.errors.append((1, f"the file is not valid CSV: {exc}"))
        return report
    except UnicodeDecodeError:
        report.errors.append((1, NOT_UTF8))
        return report
    header = [h.strip() for h in (fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append((1, f"the header is missing column(s): {', '.join(missing)}"))
        return report
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        report.errors.append((1, f"unknown column(s): {', '.join(unknown)}"))
        return report

    absent = frozenset(COLUMNS) - set(header)
    type_codes = set(session.scalars(sa.select(ServiceType.code)))
    councils = dict(session.execute(sa.select(CouncilArea.code, CouncilArea.id)).all())
    services: dict[str, Listing] = {}
    try:
        for row in reader:
            report.rows += 1
            line = reader.line_num
            if report.rows > max_rows:
                report.errors.append((line, too_many_rows(max_rows)))
                break
            if None in row:
                report.errors.append((line, "this row has more cells than the header"))
                continue
            row = {k: csv_uncell(v) if isinstance(v, str) else v for k, v in row.items()}
            cells = RowReader(line, row, report.errors)
            for name in unstorable(row):
                cells.fail(f"{name} {UNSTORABLE}")
            data, location = read_service(session, cells, type_codes, councils, today)
            external_id = (row.get("external_id") or "").strip()
            if cells.bad or location is None:
                continue
            if external_id in services:
                services[external_id].data.locations.append(location)
            else:
                data.locations.append(location)
                organisation = (row.get("organisation") or "").strip()
                empty = {c for c in KEEP_WHEN_EMPTY if not (row.get(c) or "").strip()}
                services[external_id] = Listing(line, organisation, data, absent | empty)
    except csv.Error as exc:
        report.errors.append((reader.line_num, f"the file is not valid CSV: {exc}"))
    except UnicodeDecodeError:
        report.errors.append((reader.line_num, NOT_UTF8))
    if report.rows == 0 and not report.errors:
        report.errors.append((2, "the file has no rows"))
    if report.errors:
        return report

    existing = existing_services(session, services, report.errors)
    organisations = Organisations(session)
    for external_id, listing in services.items():
        service = existing.get(external_id)
        if service is not None:
            _keep_unchanged(listing, service, report.errors)
        if problem := organisations.problem(listing, service):
            report.errors.append((listing.line, problem))
    if report.errors:
        report.errors.sort(key=lambda error: error[0])
        return report
    _write(session, services, existing, organisations, report, today)
    return report


def _keep_unchanged(listing: Listing, service: Service, errors: list[tuple[int, str]]) -> None:
    """Give ``listing`` the existing ``service``'s values for the fields the file leaves
    alone."""
    data, kept = listing.data, listing.kept
    for name in kept.intersection(SIMPLE_FIELDS):
        setattr(data, name, getattr(service, name))
    if "opening_hours" in kept:
        data.hours = [(h.weekday, h.opens, h.closes) for h in service.opening_hours]
    if "areas_served" in kept:
        data.area_ids = [a.id for a in service.areas_served]
    if "primary_type" in kept and service.primary_type.code in data.type_codes:
        data.primary_type_code = service.primary_type.code
    for new, old in zip(
        data.locations, paired_locations(data.locations, service.locations), strict=True
    ):
        if old is None:
            continue
        if "location_name" in kept:
            new.name = old.name
        if "address_2" in kept:
            new.address_2 = old.address_2
        if {"latitude", "longitude"} <= kept and new.postcode == old.postcode:
            new.latitude, new.longitude = old.latitude, old.longitude
            new.council_area_id = old.council_area_id
    if data.min_age is not None and data.max_age is not None and data.min_age > data.max_age:
        errors.append(
            (
                listing.line,
                f"the ages accepted would run from {data.min_age} to {data.max_age}: give "
                "both min_age and max_age",
            )
        )


def _notes(external_id: str, service: Service, data: ServiceData) -> list[str]:
    """What someone should check about an update: who can now see the address, and a
    status that changed."""
    notes = []
    label = f"{data.name} ({external_id})"
    if data.confidential_address != service.confidential_address:
        seen = "confidential" if data.confidential_address else "public"
        notes.append(f"{label}: its address is now {seen}")
    if data.status != service.status:
        before, after = ServiceStatus(service.status).label, ServiceStatus(data.status).label
        notes.append(f"{label}: status changed from {before} to {after}")
    return notes


def _write(
    session: Session,
    services: dict[str, Listing],
    existing: dict[str, Service],
    organisations: Organisations,
    report: ImportReport,
    today: dt.date,
) -> None:
    lookups = Lookups.load(session)
    for number, (external_id, listing) in enumerate(services.items(), 1):
        data = listing.data
        service = existing.get(external_id)
        organisation = organisations.of(listing, service)
        if service is None:
            service = Service(external_id=external_id)
            report.created += 1
        else:
            report.notes += _notes(external_id, service, data)
            report.updated += 1
        if data.last_verified_on is None and service.last_verified_on is None:
            data.last_verified_on = today
        # Flushed in batches: one INSERT per table per batch, not per listing (a 50,000
        # row file loads well within a request's time limit).
        apply_service_data(session, service, data, organisation, lookups, flush=False)
        if number % FLUSH_EVERY == 0:
            session.flush()
    session.flush()


def too_many_rows(max_rows: int) -> str:
    if max_rows < MAX_ROWS:
        return (
            f"more than {max_rows:,} rows, the most this page imports at once: split the "
            "file, or import it on the server with `flask --app referrals import-services "
            f"FILE.csv` (up to {MAX_ROWS:,} rows)"
        )
    return f"more than {MAX_ROWS:,} rows: split the file"
