"""Who sees which contacts, and the list a page at a time.

Custody staff see their own suite's contacts, administrators every suite's; nobody else
sees any (area leads and providers get the aggregate figures in the reports). The list
is newest first and pages by keyset: each page starts after the last (date, id) of the
one before (or, going back, ends just before the first of the one after), along the
``(custody_suite_id, contact_on, id)`` index, so the thousandth page costs what the
first does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session, selectinload

from ..choices import Role
from ..database import MAX_ID
from ..models import CouncilArea, CustodySuite, Location, Referral, Service, User
from .models import CustodyContact

PER_PAGE = 50


def in_scope(user: User) -> sa.ColumnElement[bool]:
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.CUSTODY and user.custody_suite_id is not None:
        return CustodyContact.custody_suite_id == user.custody_suite_id
    return sa.false()


def contact_for(session: Session, user: User, contact_id: int) -> CustodyContact:
    """The contact if ``user`` may see it; otherwise 404, as if it did not exist."""
    contact = session.scalar(
        sa.select(CustodyContact)
        .where(CustodyContact.id == contact_id, in_scope(user))
        .options(
            selectinload(CustodyContact.custody_suite),
            selectinload(CustodyContact.council_area),
            selectinload(CustodyContact.recorded_by),
            selectinload(CustodyContact.treatment_service),
            selectinload(CustodyContact.referral).selectinload(Referral.service),
        )
    )
    if contact is None:
        abort(404)
    return contact


def parse_cursor(text: str | None) -> tuple[dt.date, int] | None:
    """``"2026-11-22.1234"`` -> ``(date, id)``; ``None`` for anything else."""
    day, _, number = (text or "").partition(".")
    try:
        on, contact_id = dt.date.fromisoformat(day), int(number)
    except ValueError:
        return None
    return (on, contact_id) if 1 <= contact_id <= MAX_ID else None


def cursor_for(contact: CustodyContact) -> str:
    return f"{contact.contact_on.isoformat()}.{contact.id}"


@dataclass
class Page:
    contacts: list[CustodyContact]
    next_cursor: str | None  # where the next (older) page starts; None on the last
    previous_cursor: str | None = None  # where the newer page ends; None on the first


def contacts_page(
    session: Session,
    user: User,
    *,
    suite_id: int | None = None,
    outcome: str | None = None,
    on_or_before: dt.date | None = None,
    after: tuple[dt.date, int] | None = None,
    newer_than: tuple[dt.date, int] | None = None,
    per_page: int | None = None,
) -> Page:
    """One page of the contacts ``user`` may see, newest first: those older than
    ``after``, or (going back a page) the newest-but-older ones just newer than
    ``newer_than``."""
    per_page = per_page or PER_PAGE
    query = sa.select(CustodyContact).where(in_scope(user))
    if suite_id is not None:
        query = query.where(CustodyContact.custody_suite_id == suite_id)
    if outcome:
        query = query.where(CustodyContact.outcome == outcome)
    if on_or_before is not None:
        query = query.where(CustodyContact.contact_on <= on_or_before)
    key = sa.tuple_(CustodyContact.contact_on, CustodyContact.id)
    backwards = newer_than is not None and after is None
    if backwards:
        query = query.where(key > sa.tuple_(*newer_than))
        order = (CustodyContact.contact_on.asc(), CustodyContact.id.asc())
    else:
        if after is not None:
            query = query.where(key < sa.tuple_(*after))
        order = (CustodyContact.contact_on.desc(), CustodyContact.id.desc())
    rows = list(
        session.scalars(
            query.options(
                selectinload(CustodyContact.council_area),
                selectinload(CustodyContact.custody_suite),
                selectinload(CustodyContact.referral),
            )
            .order_by(*order)
            .limit(per_page + 1)
        )
    )
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
        return Page(
            rows,
            cursor_for(rows[-1]) if rows else None,
            cursor_for(rows[0]) if more and rows else None,
        )
    return Page(
        rows,
        cursor_for(rows[-1]) if more else None,
        cursor_for(rows[0]) if after is not None and rows else None,
    )


def suite_options(session: Session) -> list[tuple[str, str]]:
    suites = session.scalars(sa.select(CustodySuite).order_by(CustodySuite.name))
    return [(str(s.id), s.name) for s in suites]


def service_options(session: Session, suite: CustodySuite | None) -> list[tuple[str, str]]:
    """Services a person may already be in treatment with: those with a location in the
    suite's police division (every service when no suite is known), by name."""
    query = (
        sa.select(Service.id, Service.name, sa.func.min(Location.town))
        .join(Location, Location.service_id == Service.id)
        .group_by(Service.id, Service.name)
        .order_by(Service.name, Service.id)
    )
    if suite is not None:
        division = sa.select(CouncilArea.police_division_id).where(
            CouncilArea.id == suite.council_area_id
        )
        query = query.join(CouncilArea, Location.council_area_id == CouncilArea.id).where(
            CouncilArea.police_division_id == division.scalar_subquery()
        )
    return [(str(i), f"{name} ({town})") for i, name, town in session.execute(query)]
