"""Services to and from CSV.

One row per location; a service with several locations has several rows with the same
``external_id``, and its service fields are read from the first of them. Importing checks
every row first and imports nothing if any row is wrong, reporting each bad row by line
number; importing the same file again updates the services it created (matched on
``external_id``) instead of adding copies.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TextIO
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session, selectinload

from ..choices import Gender, ServiceStatus
from ..csvsafe import csv_uncell
from ..models import CouncilArea, Organisation, Service, ServiceType
from ..postcodes import normalise_postcode
from .access import AddressViewer
from .hours import format_hours, parse_hours
from .listings import (
    LocationData,
    Lookups,
    ServiceData,
    apply_service_data,
    nearest_council_id,
    phone_problem,
    position_for_postcode,
)

COLUMNS = [
    "external_id",
    "organisation",
    "name",
    "description",
    "types",
    "primary_type",
    "min_age",
    "max_age",
    "gender",
    "veterans_only",
    "self_referral",
    "accepts_custody_referrals",
    "same_day_access",
    "phone",
    "email",
    "website",
    "referral_method",
    "typical_wait_days",
    "status",
    "alert",
    "confidential_address",
    "location_name",
    "address_1",
    "address_2",
    "town",
    "postcode",
    "latitude",
    "longitude",
    "areas_served",
    "opening_hours",
    "last_verified_on",
]
REQUIRED = ["external_id", "organisation", "name", "types", "address_1", "town", "postcode"]
TRUE = {"yes", "y", "true", "1"}
FALSE = {"no", "n", "false", "0", ""}
MAX_ROWS = 50_000
_POSITIONS = "import_postcode_positions"  # session.info key: postcode -> position
FLUSH_EVERY = 2000


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _RowReader:
    """Reads one CSV row's cells, collecting a message for each bad one."""

    def __init__(self, line: int, row: dict[str, str], errors: list[tuple[int, str]]):
        self.line, self.row, self.errors = line, row, errors
        self.bad = False

    def fail(self, message: str) -> None:
        self.errors.append((self.line, message))
        self.bad = True

    def text(self, name: str, limit: int = 500) -> str | None:
        value = (self.row.get(name) or "").strip()
        if len(value) > limit:
            self.fail(f"{name} is longer than {limit} characters")
        return value or None

    def flag(self, name: str, default: bool) -> bool:
        value = (self.row.get(name) or "").strip().lower()
        if value == "":
            return default
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        self.fail(f"{name} must be yes or no, not “{value}”")
        return default

    def whole(self, name: str, low: int, high: int) -> int | None:
        value = (self.row.get(name) or "").strip()
        if not value:
            return None
        try:
            number = int(value)
        except ValueError:
            self.fail(f"{name} must be a whole number, not “{value}”")
            return None
        if not low <= number <= high:
            self.fail(f"{name} must be from {low} to {high}, not {number}")
            return None
        return number

    def decimal(self, name: str, low: float, high: float) -> float | None:
        value = (self.row.get(name) or "").strip()
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{name} must be a number, not “{value}”")
            return None
        if not low <= number <= high:
            self.fail(f"{name} must be from {low} to {high}, not {number}")
            return None
        return number

    def choice(self, name: str, allowed: list[str], default: str) -> str:
        value = (self.row.get(name) or "").strip().lower()
        if not value:
            return default
        if value not in allowed:
            self.fail(f"{name} must be one of {', '.join(allowed)}, not “{value}”")
            return default
        return value


def _read_service(
    session: Session,
    reader: _RowReader,
    type_codes: set[str],
    councils: dict[str, int],
    today: dt.date,
) -> tuple[ServiceData, LocationData | None]:
    for name in REQUIRED:
        if not (reader.row.get(name) or "").strip():
            reader.fail(f"{name} is missing")
    reader.text("external_id", 80)  # their lengths, checked (both are read by the caller)
    reader.text("organisation", 200)
    types = [t.strip().lower() for t in (reader.row.get("types") or "").split(";") if t.strip()]
    for code in types:
        if code not in type_codes:
            reader.fail(f"unknown service type “{code}” (known: {', '.join(sorted(type_codes))})")
    primary = (reader.row.get("primary_type") or "").strip().lower() or (types[0] if types else "")
    if primary and primary not in type_codes:
        reader.fail(f"unknown primary_type “{primary}”")
    phone = reader.text("phone", 40)
    if phone and (problem := phone_problem(phone)):
        reader.fail(f"phone “{phone}”: {problem}")
    email = reader.text("email", 254)
    if email:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            reader.fail(f"email “{email}” is not an email address")
    website = reader.text("website", 500)
    if website:
        parts = urlsplit(website)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            reader.fail(f"website “{website}” must be a web address starting https://")
    try:
        hours = parse_hours(reader.row.get("opening_hours") or "")
    except ValueError as exc:
        reader.fail(f"opening_hours: {exc}")
        hours = []
    area_ids = []
    for code in (reader.row.get("areas_served") or "").split(";"):
        code = code.strip().upper()
        if not code:
            continue
        if code not in councils:
            reader.fail(f"areas_served: “{code}” is not a known council area code")
        else:
            area_ids.append(councils[code])
    min_age = reader.whole("min_age", 0, 120)
    max_age = reader.whole("max_age", 0, 120)
    if min_age is not None and max_age is not None and min_age > max_age:
        reader.fail("min_age is higher than max_age")
    verified = None
    if value := (reader.row.get("last_verified_on") or "").strip():
        try:
            verified = dt.date.fromisoformat(value)
        except ValueError:
            reader.fail(f"last_verified_on must be a date like 2026-03-31, not “{value}”")
        else:
            if verified > today:
                reader.fail("last_verified_on is in the future")
    data = ServiceData(
        name=reader.text("name", 200) or "",
        description=reader.text("description", 5000),
        type_codes=types,
        primary_type_code=primary,
        locations=[],
        min_age=min_age,
        max_age=max_age,
        gender=reader.choice("gender", Gender.values(), Gender.ANY),
        veterans_only=reader.flag("veterans_only", False),
        self_referral=reader.flag("self_referral", True),
        accepts_custody_referrals=reader.flag("accepts_custody_referrals", True),
        same_day_access=reader.flag("same_day_access", False),
        phone=phone,
        email=email,
        website=website,
        referral_method=reader.text("referral_method", 2000),
        typical_wait_days=reader.whole("typical_wait_days", 0, 365),
        status=reader.choice("status", ServiceStatus.values(), ServiceStatus.ACTIVE),
        alert=reader.text("alert", 500),
        confidential_address=reader.flag("confidential_address", False),
        hours=hours,
        area_ids=area_ids,
        last_verified_on=verified,
    )
    return data, _read_location(session, reader)


def _read_location(session: Session, reader: _RowReader) -> LocationData | None:
    raw_postcode = (reader.row.get("postcode") or "").strip()
    postcode = normalise_postcode(raw_postcode)
    if raw_postcode and postcode is None:
        reader.fail(f"postcode “{raw_postcode}” is not a UK postcode")
    lat = reader.decimal("latitude", -90, 90)
    lon = reader.decimal("longitude", -180, 180)
    if (lat is None) != (lon is None):
        reader.fail("give both latitude and longitude, or neither")
        return None
    if postcode is None:
        return None
    # Many rows share a postcode: look each one up once per import.
    positions = session.info.setdefault(_POSITIONS, {})
    if postcode not in positions:
        positions[postcode] = position_for_postcode(session, postcode)
    position = positions[postcode]
    if lat is None:
        if position is None:
            reader.fail(
                f"postcode {postcode} is not in the postcode tables: give latitude and longitude"
            )
            return None
        lat, lon = position.latitude, position.longitude
    council_id = position.council_area_id if position else None
    if council_id is None:
        council_id = nearest_council_id(session, lat, lon)
    return LocationData(
        name=reader.text("location_name", 200),
        address_1=reader.text("address_1", 200) or "",
        address_2=reader.text("address_2", 200),
        town=reader.text("town", 120) or "",
        postcode=postcode,
        latitude=lat,
        longitude=lon,
        council_area_id=council_id,
    )


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
        session.info.pop(_POSITIONS, None)


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

    type_codes = set(session.scalars(sa.select(ServiceType.code)))
    councils = dict(session.execute(sa.select(CouncilArea.code, CouncilArea.id)).all())
    services: dict[str, tuple[int, str, ServiceData]] = {}
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
            cells = _RowReader(line, row, report.errors)
            data, location = _read_service(session, cells, type_codes, councils, today)
            external_id = (row.get("external_id") or "").strip()
            if cells.bad or location is None:
                continue
            if external_id in services:
                services[external_id][2].locations.append(location)
            else:
                data.locations.append(location)
                organisation = (row.get("organisation") or "").strip()
                services[external_id] = (line, organisation, data)
    except csv.Error as exc:
        report.errors.append((reader.line_num, f"the file is not valid CSV: {exc}"))
    except UnicodeDecodeError:
        report.errors.append((reader.line_num, NOT_UTF8))
    if report.rows == 0 and not report.errors:
        report.errors.append((2, "the file has no rows"))
    if report.errors:
        return report

    existing = {
        s.external_id: s
        for s in session.scalars(
            sa.select(Service)
            .where(Service.external_id.in_(list(services)))
            .options(
                selectinload(Service.locations),
                selectinload(Service.opening_hours),
                selectinload(Service.types),
                selectinload(Service.areas_served),
            )
        )
    }
    organisations = {o.name: o for o in session.scalars(sa.select(Organisation))}
    lookups = Lookups.load(session)
    for number, (external_id, (_line, org_name, data)) in enumerate(services.items(), 1):
        organisation = organisations.get(org_name)
        if organisation is None:
            organisation = Organisation(name=org_name)
            session.add(organisation)
            organisations[org_name] = organisation
        service = existing.get(external_id)
        if service is None:
            service = Service(external_id=external_id)
            report.created += 1
        else:
            report.updated += 1
        if data.last_verified_on is None and service.last_verified_on is None:
            data.last_verified_on = today
        # Flushed in batches: one INSERT per table per batch, not per listing (a 50,000
        # row file loads well within a request's time limit).
        apply_service_data(session, service, data, organisation, lookups, flush=False)
        if number % FLUSH_EVERY == 0:
            session.flush()
    session.flush()
    return report


def too_many_rows(max_rows: int) -> str:
    if max_rows < MAX_ROWS:
        return (
            f"more than {max_rows:,} rows, the most this page imports at once: split the "
            "file, or import it on the server with `flask --app referrals import-services "
            f"FILE.csv` (up to {MAX_ROWS:,} rows)"
        )
    return f"more than {MAX_ROWS:,} rows: split the file"


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
                s.external_id or f"service-{s.id}",
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
