"""The provider's worklist: overdue, new, awaiting first attendance, awaiting treatment
start (only at services that treat), and attending services with no treatment stage;
each referral with its contact details, contact attempts, updates from the referrer and
flags, and the changes the user may still undo.

The page costs the same number of statements however many referrals there are: one
counts every section (a single pass over the open referrals, along the
``(service_id, status, referred_on, id)`` index), one reads the shown referrals of all
sections with what they show (a union of one short indexed read per section), then the
follow-ups, the undoable changes, and the outcomes due after treatment starts (the
oldest ``SHOWN`` and how many there are, in one statement). A section shows its oldest
``SHOWN``; the rest are a page at a time by keyset (``?section=new&after=<id>``, and
``before`` to go back).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from ..choices import TREATMENT_TYPE_CODES, ReferralStatus
from ..database import as_id
from ..models import Referral, ReferralEvent, Service, ServiceType, User, service_type_links
from ..workdays import overdue_cutoff
from .actions import ACTIONS, Action
from .followup import FollowUp, follow_ups
from .lifecycle import UNDO_REASON, UNDO_WINDOW, last_change, undo_problem
from .outcomes import outcomes_due, without_personal_data
from .scope import in_scope

# Each section shows its oldest 25 (a page a phone can hold, and cheap to build) and
# pages on through the rest.
SHOWN = 25


@dataclass
class Section:
    key: str
    title: str
    count: int
    referrals: list[Referral]
    action: Action | None
    empty: str
    newer: int | None = None  # pass as ``before`` for the page before this one
    older: int | None = None  # pass as ``after`` for the page after this one


@dataclass(frozen=True)
class SectionPage:
    """Which section is paged, and from where (the other sections show their start)."""

    key: str | None = None
    after: int | None = None
    before: int | None = None

    @classmethod
    def parse(cls, key: object, after: object, before: object) -> SectionPage:
        if key not in SECTION_KEYS:
            return cls()
        return cls(str(key), as_id(after), None if as_id(after) else as_id(before))


@dataclass(frozen=True)
class OutcomesDue:
    count: int  # referrals with an outcome to record
    referrals: list[Referral]  # the oldest ``SHOWN`` of them


@dataclass
class Worklist:
    sections: list[Section]
    follow_ups: dict[int, FollowUp]
    undoable: list[tuple[Referral, ReferralEvent]]
    outcomes: OutcomesDue


def treating_services() -> sa.Select:
    return (
        sa.select(service_type_links.c.service_id)
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(ServiceType.code.in_(TREATMENT_TYPE_CODES))
    )


def recent_changes(
    session: Session, user: User, now: dt.datetime
) -> list[tuple[Referral, ReferralEvent]]:
    """The user's status changes of the last 15 minutes that they can still undo."""
    ids = session.scalars(
        sa.select(ReferralEvent.referral_id)
        .where(
            ReferralEvent.user_id == user.id,
            ReferralEvent.at >= now - UNDO_WINDOW,
            ReferralEvent.from_status.is_not(None),
            sa.or_(ReferralEvent.reason.is_(None), ReferralEvent.reason != UNDO_REASON),
        )
        .distinct()
    ).all()
    if not ids:
        return []
    referrals = session.scalars(
        sa.select(Referral)
        .where(Referral.id.in_(ids), in_scope(user))
        .options(*without_personal_data(), selectinload(Referral.events))
        .order_by(Referral.updated_at.desc())
    ).all()
    return [
        (referral, last_change(referral))
        for referral in referrals
        if undo_problem(referral, user, now) is None
    ]


SECTION_KEYS = ("overdue", "new", "accepted", "engaged", "attending")


def _plan(working_days: int) -> list[tuple[str, str, str | None, str]]:
    return [
        (
            "overdue",
            f"Overdue: no response within {working_days} working days",
            "accept",
            "Nothing overdue.",
        ),
        (
            "new",
            "New: awaiting acceptance",
            "accept",
            "No new referrals. New referrals from custody appear here.",
        ),
        ("accepted", "Awaiting first attendance", "attend", "None at the moment."),
        ("engaged", "Awaiting treatment start", "start_treatment", "None at the moment."),
        (
            "attending",
            "Attending a service with no treatment stage",
            None,
            "None at the moment. Referrals to harm-reduction and support services (naloxone, "
            "injecting equipment, housing and others) end here once the person attends: "
            "close them when they stop coming.",
        ),
    ]


def _conditions(cutoff: dt.date) -> dict[str, sa.ColumnElement[bool]]:
    """What puts an open referral in each section."""
    made = Referral.status == ReferralStatus.MADE
    engaged = Referral.status == ReferralStatus.ENGAGED
    treating = Referral.service_id.in_(treating_services())
    return {
        "overdue": sa.and_(made, Referral.referred_on < cutoff),
        "new": sa.and_(made, Referral.referred_on >= cutoff),
        "accepted": Referral.status == ReferralStatus.ACCEPTED,
        "engaged": sa.and_(engaged, treating),
        "attending": sa.and_(engaged, ~treating),
    }


def _section_ids(
    scope: sa.ColumnElement[bool], key: str, condition: sa.ColumnElement[bool], paging: SectionPage
) -> sa.Select:
    """The ids of one section's shown referrals (and one more, to know there are more),
    oldest first, or, going back a page, newest first from where the page ends.

    The section's referrals are found first, on their own (a materialised CTE, along the
    ``(service_id, status, ...)`` index), and only then sorted: otherwise PostgreSQL
    walks the whole table in date order looking for the few of one organisation."""
    found = sa.select(Referral.id, Referral.referred_on).where(scope, condition)
    if paging.key == key and (paging.after or paging.before):
        pivot = paging.after or paging.before
        pivot_on = sa.select(Referral.referred_on).where(Referral.id == pivot).scalar_subquery()
        mine, theirs = sa.tuple_(Referral.referred_on, Referral.id), sa.tuple_(pivot_on, pivot)
        found = found.where(mine > theirs if paging.after else mine < theirs)
    section = found.cte(f"worklist_{key}").prefix_with("MATERIALIZED")
    order = (section.c.referred_on.asc(), section.c.id.asc())
    if paging.key == key and paging.before and not paging.after:
        order = (section.c.referred_on.desc(), section.c.id.desc())
    return (
        sa.select(section.c.id, sa.literal(key).label("section")).order_by(*order).limit(SHOWN + 1)
    )


def build_worklist(
    session: Session,
    user: User,
    today: dt.date,
    now: dt.datetime,
    working_days: int,
    paging: SectionPage | None = None,
) -> Worklist:
    paging = paging or SectionPage()
    scope = in_scope(user)
    conditions = _conditions(overdue_cutoff(today, working_days))
    open_states = [ReferralStatus.MADE, ReferralStatus.ACCEPTED, ReferralStatus.ENGAGED]
    counts = session.execute(
        sa.select(
            *(
                sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0).label(key)
                for key, condition in conditions.items()
            )
        ).where(scope, Referral.status.in_(open_states))
    ).one()
    shown = sa.union_all(
        *(
            sa.select(_section_ids(scope, key, condition, paging).subquery())
            for key, condition in conditions.items()
        )
    ).subquery()
    rows = session.execute(
        sa.select(Referral, shown.c.section)
        .join(shown, shown.c.id == Referral.id)
        .options(
            # Personal data is decrypted only where the page shows it: the contact details.
            defer(Referral.person_ref),
            defer(Referral.notes),
            joinedload(Referral.service).joinedload(Service.organisation),
            joinedload(Referral.council_area),
            joinedload(Referral.custody_suite),
            joinedload(Referral.referred_from).load_only(Referral.id, Referral.reference),
            joinedload(Referral.possible_duplicate_of).load_only(Referral.id, Referral.reference),
        )
    ).all()
    by_section: dict[str, list[Referral]] = {key: [] for key in conditions}
    for referral, key in rows:
        by_section[key].append(referral)
    sections = []
    for key, title, action, empty in _plan(working_days):
        items = sorted(by_section[key], key=lambda r: (r.referred_on, r.id))
        backwards = paging.key == key and paging.before is not None
        more = len(items) > SHOWN
        if more:
            items = items[1:] if backwards else items[:SHOWN]
        paged = paging.key == key and (paging.after or paging.before)
        newer = items[0].id if items and (more if backwards else paged) else None
        older = items[-1].id if items and (paged if backwards else more) else None
        sections.append(
            Section(
                key,
                title,
                getattr(counts, key),
                items,
                ACTIONS[action] if action else None,
                empty,
                newer,
                older,
            )
        )
    shown_ids = [r.id for section in sections for r in section.referrals]
    outcomes = OutcomesDue(*outcomes_due(session, scope, today, SHOWN))
    return Worklist(
        sections, follow_ups(session, shown_ids), recent_changes(session, user, now), outcomes
    )
