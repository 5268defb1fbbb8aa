"""What a directory search asks for, as SQL: the services matching every filter but
distance, and the locations of those services inside a box (from the spatial index).

Filters combine with AND. Types ticked in the form match any of them; each need named in
the search box ("naloxone", "rehab") must be met; a name matches services whose name or
organisation's name holds every word.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa

from ..choices import ServiceStatus
from ..models import Location, OpeningHours, Organisation, Service, ServiceType, service_type_links
from ..spatial import in_box
from .hours import END_OF_DAY

DEFAULT_RADIUS_KM = 25
MAX_RADIUS_KM = 1000


@dataclass(frozen=True)
class Need:
    """A need named in words: met by a service of any of ``types``, or (for "women")
    one that serves only that ``gender``."""

    words: str
    types: tuple[str, ...]
    gender: str | None = None


@dataclass
class Filters:
    types: list[str] = field(default_factory=list)
    same_day: bool = False
    custody: bool = False
    open_now: bool = False
    age: int | None = None
    gender: str | None = None
    veterans: bool = False
    radius_km: float = DEFAULT_RADIUS_KM
    needs: list[Need] = field(default_factory=list)
    name: str | None = None


def _with_types(codes) -> sa.Select:
    return (
        sa.select(service_type_links.c.service_id)
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(ServiceType.code.in_(list(codes)))
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def name_condition(name: str) -> sa.ColumnElement[bool]:
    """Every word of ``name`` in the service's name or its organisation's name."""
    words = name.split()
    organisation = sa.select(Organisation.name).where(Organisation.id == Service.organisation_id)
    text = sa.func.lower(Service.name) + " " + sa.func.lower(organisation.scalar_subquery())
    return sa.and_(*(text.like(_like(word), escape="\\") for word in words))


def matching_services(filters: Filters, now_local: dt.datetime | None = None) -> sa.Select:
    """Ids of active services matching every filter but distance; open-now is judged
    at ``now_local``."""
    query = sa.select(Service.id).where(Service.status == ServiceStatus.ACTIVE)
    if filters.types:
        query = query.where(Service.id.in_(_with_types(filters.types)))
    for need in filters.needs:
        met = Service.id.in_(_with_types(need.types))
        if need.gender:
            met = sa.or_(met, Service.gender == need.gender)
        query = query.where(met)
    if filters.name:
        query = query.where(name_condition(filters.name))
    if filters.same_day:
        query = query.where(Service.same_day_access)
    if filters.custody:
        query = query.where(Service.accepts_custody_referrals)
    if filters.open_now and now_local is not None:
        query = query.where(Service.id.in_(open_service_ids(now_local)))
    if filters.age is not None:
        query = query.where(
            sa.or_(Service.min_age.is_(None), Service.min_age <= filters.age),
            sa.or_(Service.max_age.is_(None), Service.max_age >= filters.age),
        )
    if filters.gender in ("female", "male"):
        query = query.where(Service.gender.in_(["any", filters.gender]))
    if filters.veterans:
        query = query.where(
            sa.or_(Service.veterans_only, Service.id.in_(_with_types(["veterans"])))
        )
    return query


def locations_in(
    dialect: str,
    services: sa.Select,
    box: tuple[float, float, float, float] | None,
    *columns: sa.ColumnElement,
) -> sa.Select:
    """``columns`` of the locations of ``services`` inside ``box`` (south, north, west,
    east; None for everywhere). The service filters are a correlated EXISTS, so the
    database starts from the spatial index and checks each location's service by its
    key, whatever it guesses about the other filters."""
    query = sa.select(*columns).where(services.where(Service.id == Location.service_id).exists())
    if box is not None:
        query = query.where(
            in_box(dialect, Location.id, Location.latitude, Location.longitude, *box)
        )
    return query


def open_now_condition(at: dt.datetime) -> sa.ColumnElement[bool]:
    """SQL for "this opening session is open at local time ``at``", the same rule as
    ``hours.is_open``: open from the opening minute, closed from the closing minute,
    sessions closing before they open run past midnight (one closing at 00:00 ends at
    midnight, as ``hours`` reads it), 23:59 means midnight."""
    day, previous = at.weekday(), (at.weekday() - 1) % 7
    now = dt.time(at.hour, at.minute)
    midnight = END_OF_DAY
    same_day = sa.and_(
        OpeningHours.weekday == day,
        OpeningHours.opens < OpeningHours.closes,
        OpeningHours.opens <= now,
        sa.or_(OpeningHours.closes > now, OpeningHours.closes == midnight),
    )
    overnight_start = sa.and_(
        OpeningHours.weekday == day,
        OpeningHours.closes < OpeningHours.opens,
        OpeningHours.opens <= now,
    )
    overnight_end = sa.and_(
        OpeningHours.weekday == previous,
        OpeningHours.closes < OpeningHours.opens,
        OpeningHours.closes > now,
    )
    return sa.or_(same_day, overnight_start, overnight_end)


def open_service_ids(at: dt.datetime) -> sa.Select:
    return sa.select(OpeningHours.service_id).where(open_now_condition(at))
