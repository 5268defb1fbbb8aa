"""The provider's worklist: overdue, new, awaiting first attendance, awaiting treatment
start (only at services that treat), and attending services with no treatment stage;
each referral with its contact details, contact attempts, updates from the referrer and
flags, and the changes the user may still undo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import TREATMENT_TYPE_CODES, ReferralStatus
from ..models import Referral, ReferralEvent, Service, ServiceType, User, service_type_links
from ..workdays import overdue_cutoff
from .actions import ACTIONS, Action
from .followup import FollowUp, follow_ups
from .lifecycle import UNDO_REASON, UNDO_WINDOW, last_change, undo_problem
from .scope import in_scope

SHOWN = 100


@dataclass
class Section:
    key: str
    title: str
    count: int
    referrals: list[Referral]
    action: Action | None
    empty: str


@dataclass
class Worklist:
    sections: list[Section]
    follow_ups: dict[int, FollowUp]
    undoable: list[tuple[Referral, ReferralEvent]]


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
        .options(selectinload(Referral.events))
        .order_by(Referral.updated_at.desc())
    ).all()
    return [
        (referral, last_change(referral))
        for referral in referrals
        if undo_problem(referral, user, now) is None
    ]


def build_worklist(
    session: Session, user: User, today: dt.date, now: dt.datetime, working_days: int
) -> Worklist:
    base = (
        sa.select(Referral)
        .where(in_scope(user))
        .options(
            selectinload(Referral.service).selectinload(Service.organisation),
            selectinload(Referral.council_area),
            selectinload(Referral.custody_suite),
            selectinload(Referral.referred_from),
            selectinload(Referral.possible_duplicate_of),
        )
        .order_by(Referral.referred_on, Referral.id)
    )
    cutoff = overdue_cutoff(today, working_days)
    made = base.where(Referral.status == ReferralStatus.MADE)
    engaged = base.where(Referral.status == ReferralStatus.ENGAGED)
    treating = Referral.service_id.in_(treating_services())
    plan = [
        (
            "overdue",
            f"Overdue: no response within {working_days} working days",
            made.where(Referral.referred_on < cutoff),
            "accept",
            "Nothing overdue.",
        ),
        (
            "new",
            "New: awaiting acceptance",
            made.where(Referral.referred_on >= cutoff),
            "accept",
            "No new referrals. New referrals from custody appear here.",
        ),
        (
            "accepted",
            "Awaiting first attendance",
            base.where(Referral.status == ReferralStatus.ACCEPTED),
            "attend",
            "None at the moment.",
        ),
        (
            "engaged",
            "Awaiting treatment start",
            engaged.where(treating),
            "start_treatment",
            "None at the moment.",
        ),
        (
            "attending",
            "Attending a service with no treatment stage",
            engaged.where(~treating),
            None,
            "None at the moment. Referrals to harm-reduction and support services (naloxone, "
            "injecting equipment, housing and others) end here once the person attends: "
            "close them when they stop coming.",
        ),
    ]
    sections = []
    for key, title, query, action, empty in plan:
        count = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        items = list(session.scalars(query.limit(SHOWN)))
        sections.append(
            Section(key, title, count, items, ACTIONS[action] if action else None, empty)
        )
    shown = [r.id for section in sections for r in section.referrals]
    return Worklist(sections, follow_ups(session, shown), recent_changes(session, user, now))
