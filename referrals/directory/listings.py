"""Writing a service listing from checked values: shared by the edit form and the CSV
import, so both apply the same rules."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Gender, ServiceStatus
from ..clock import now_utc
from ..models import (
    CouncilArea,
    Location,
    OpeningHours,
    Organisation,
    Postcode,
    PostcodeDistrict,
    Service,
    ServiceType,
)
from ..postcodes import normalise_postcode

# RFC 3986's characters, less "[" and "]" (only for IPv6 hosts, which no listing has).
_URI_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
ADDRESS_BAR = (
    "Enter the website address as it appears in the browser's address bar, for example "
    "https://www.example.org/services."
)


def website_problem(website: str) -> str | None:
    """Why ``website`` is not a web address the directory can publish; ``None`` if it is.

    The directory API gives it as a URI (RFC 3986), which holds only plain ASCII: a
    space or a letter like "ä" must be written as the browser writes it (%20, or the
    xn-- form of the domain)."""
    try:
        parts = urlsplit(website)
    except ValueError:  # an unclosed "[", say
        return f"It is not a web address. {ADDRESS_BAR}"
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return "Enter a web address starting https://, like https://www.example.org/services."
    if " " in website:
        return f"It has a space in it. {ADDRESS_BAR}"
    if not website.isascii():
        odd = next(c for c in website if not c.isascii())
        return f"It has “{odd}” in it, which a web address cannot hold as typed. {ADDRESS_BAR}"
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if (
        not _URI_CHARACTERS.fullmatch(website)
        or _BAD_PERCENT.search(website)
        or website.count("#") > 1
        or parts.netloc.count("@") > 1
        or not _HOST.fullmatch(parts.hostname or "")
        or not port_ok
    ):
        return f"It is not a web address. {ADDRESS_BAR}"
    return None


@dataclass
class Position:
    latitude: float
    longitude: float
    council_area_id: int | None
    approximate: bool


def position_for_postcode(session: Session, postcode: str) -> Position | None:
    """Where a full postcode is: exact from the postcode table, else the middle of its
    district (approximate)."""
    normal = normalise_postcode(postcode)
    if normal is None:
        return None
    exact = session.get(Postcode, normal)
    district = session.get(PostcodeDistrict, normal.split()[0])
    if exact is not None:
        council = exact.council_area_id or (district.council_area_id if district else None)
        return Position(exact.latitude, exact.longitude, council, False)
    if district is not None:
        return Position(district.latitude, district.longitude, district.council_area_id, True)
    return None


def nearest_council_id(session: Session, lat: float, lon: float) -> int | None:
    district = session.scalar(
        sa.select(PostcodeDistrict).order_by(
            (PostcodeDistrict.latitude - lat) * (PostcodeDistrict.latitude - lat)
            + (PostcodeDistrict.longitude - lon) * (PostcodeDistrict.longitude - lon) / 3
        )
    )
    return district.council_area_id if district else None


@dataclass
class LocationData:
    address_1: str
    town: str
    postcode: str
    latitude: float
    longitude: float
    council_area_id: int
    address_2: str | None = None
    name: str | None = None


def _place(address_1: str | None, postcode: str | None) -> tuple[str, str]:
    return (" ".join((address_1 or "").lower().split()), (postcode or "").replace(" ", "").upper())


def paired_locations(new: list[LocationData], old: list[Location]) -> list[Location | None]:
    """For each location of a listing, the existing location it updates: the one at the
    same address (first line and postcode), else one left over, in order; None for a new
    place. A location keeps its id (systems reading the API hold it) however a file
    orders a listing's rows."""
    left = list(old)
    paired: list[Location | None] = [None] * len(new)
    for index, loc in enumerate(new):
        same = next(
            (
                o
                for o in left
                if _place(o.address_1, o.postcode) == _place(loc.address_1, loc.postcode)
            ),
            None,
        )
        if same is not None:
            paired[index] = same
            left.remove(same)
    for index in range(len(new)):
        if paired[index] is None and left:
            paired[index] = left.pop(0)
    return paired


@dataclass
class ServiceData:
    name: str
    type_codes: list[str]
    primary_type_code: str
    locations: list[LocationData]
    description: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    gender: str = Gender.ANY
    veterans_only: bool = False
    self_referral: bool = True
    accepts_custody_referrals: bool = True
    same_day_access: bool = False
    phone: str | None = None
    email: str | None = None
    website: str | None = None
    referral_method: str | None = None
    typical_wait_days: int | None = None
    status: str = ServiceStatus.ACTIVE
    alert: str | None = None
    confidential_address: bool = False
    hours: list[tuple[int, dt.time, dt.time]] = field(default_factory=list)
    area_ids: list[int] = field(default_factory=list)
    last_verified_on: dt.date | None = None


SIMPLE_FIELDS = (
    "name",
    "description",
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
)


@dataclass
class Lookups:
    """Service types by code and council areas by id, read once for many listings."""

    types: dict[str, ServiceType]
    areas: dict[int, CouncilArea]

    @classmethod
    def load(cls, session: Session) -> Lookups:
        return cls(
            {t.code: t for t in session.scalars(sa.select(ServiceType))},
            {a.id: a for a in session.scalars(sa.select(CouncilArea))},
        )


def apply_service_data(
    session: Session,
    service: Service,
    data: ServiceData,
    organisation: Organisation,
    lookups: Lookups | None = None,
    flush: bool = True,
) -> Service:
    """Write ``data`` onto ``service`` (new or existing), replacing its types, hours,
    areas served and locations. The caller commits (and, with ``flush=False`` for many
    listings at once, flushes)."""
    lookups = lookups or Lookups.load(session)
    area_ids = data.area_ids or sorted({loc.council_area_id for loc in data.locations})
    areas = [lookups.areas[i] for i in sorted(set(area_ids)) if i in lookups.areas]
    # Nothing is flushed until every field is set: a half-filled listing never reaches
    # the database.
    with session.no_autoflush:
        _assign(service, data, organisation, lookups.types, areas)
    session.add(service)
    if flush:
        session.flush()
    return service


def _assign(
    service: Service,
    data: ServiceData,
    organisation: Organisation,
    types: dict[str, ServiceType],
    areas: list[CouncilArea],
) -> None:
    service.organisation = organisation
    # Saved listings count as changed even when only their hours, areas or locations
    # did, which live in other tables: the directory API's modified_after relies on it.
    service.updated_at = now_utc()
    for name in SIMPLE_FIELDS:
        setattr(service, name, getattr(data, name))
    service.primary_type = types[data.primary_type_code]
    codes = [data.primary_type_code] + [c for c in data.type_codes if c != data.primary_type_code]
    service.types = [types[c] for c in dict.fromkeys(codes)]
    if data.last_verified_on is not None:
        service.last_verified_on = data.last_verified_on
    service.areas_served = areas
    wanted_hours = sorted(set(data.hours))
    current_hours = sorted((h.weekday, h.opens, h.closes) for h in service.opening_hours)
    if wanted_hours != current_hours:
        service.opening_hours = [
            OpeningHours(weekday=d, opens=o, closes=c) for d, o, c in wanted_hours
        ]
    new_locations = []
    for loc, old in zip(
        data.locations, paired_locations(data.locations, service.locations), strict=True
    ):
        target = old or Location()
        target.name = loc.name
        target.address_1 = loc.address_1
        target.address_2 = loc.address_2
        target.town = loc.town
        target.postcode = loc.postcode
        target.latitude = loc.latitude
        target.longitude = loc.longitude
        target.council_area_id = loc.council_area_id
        new_locations.append(target)
    service.locations = new_locations
