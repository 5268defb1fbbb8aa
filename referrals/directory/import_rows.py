"""Reading the rows of a services CSV (``exchange.import_services``): each cell checked,
a message for each bad one, by line; the columns are those the export writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from ..choices import Gender, ServiceStatus
from ..phones import phone_problem
from ..postcodes import normalise_postcode
from .hours import parse_hours
from .listings import (
    LocationData,
    ServiceData,
    nearest_council_id,
    position_for_postcode,
    website_problem,
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
POSITIONS = "import_postcode_positions"  # session.info key: postcode -> position
UNSTORABLE = (
    "has a hidden character that cannot be saved (a NUL, or half of a broken character): "
    "type the cell again"
)


class RowReader:
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


def read_service(
    session: Session,
    reader: RowReader,
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
    if website and (problem := website_problem(website)):
        reader.fail(f"website “{website}”: {problem}")
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


def _read_location(session: Session, reader: RowReader) -> LocationData | None:
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
    positions = session.info.setdefault(POSITIONS, {})
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


def unstorable(row: dict[str, str | None]) -> list[str]:
    """The columns whose cell holds a NUL (PostgreSQL refuses it) or a lone surrogate
    (no UTF-8 text can hold one)."""
    names = []
    for name, value in row.items():
        if not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            names.append(name)
        else:
            if "\x00" in value:
                names.append(name)
    return names


@dataclass
class Listing:
    """A service as the file gives it: its first row, with every row's location."""

    line: int
    organisation: str
    data: ServiceData
    kept: frozenset[str]  # the columns whose fields an existing service keeps as they are
