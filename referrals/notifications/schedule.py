"""Digests and reminders the sender queues on a timetable (local time):

- every working day from ``NOTIFY_DIGEST_HOUR`` (08:00): to each provider organisation
  with overdue referrals, a list of their references, to its managers (or, with no
  manager, to its referral inbox);
- every week, from Monday at that hour: to each organisation with listings not checked
  for ``STALE_AFTER_DAYS`` days, their names, to its staff; and to each area lead, a
  reminder naming last week and linking to their reports (no figures: those are
  published only through the reports' disclosure control).

Digests go to people only, never to the accounts registered systems act through
(``recipients``), and each is checked again when sent: someone who has left the
organisation by then is not sent its digest.

Each digest row has a key (kind, day or week, recipient) that the database keeps
unique, so any number of senders, restarted any number of times, queue it once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..choices import ReferralStatus, Role, ServiceStatus
from ..models import Organisation, Referral, Service, User
from ..templating import format_date
from ..workdays import is_working_day, overdue_cutoff
from .kinds import Kind
from .models import Notification
from .recipients import people, staff

LISTED = 30  # references or names listed in one digest; the rest are counted


def _insert_once(session: Session, **values) -> int:
    """Insert a digest row unless one with its key exists; returns rows written."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Notification.__table__)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.__table__.c.id)
    )
    return len(session.execute(statement).all())


def _staff(session: Session, organisation_ids, managers_only: bool) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for user in session.scalars(staff(organisation_ids, managers_only=managers_only)):
        found[user.organisation_id].append(user.id)
    return found


def _to_organisations(session, kind, key, grouped, managers_only, **details) -> int:
    """One digest per organisation in ``grouped`` ({org id: [items]}), to its staff (or
    managers), falling back to its referral inbox; ``details`` go in every one."""
    if not grouped:
        return 0
    organisations = {
        o.id: o
        for o in session.scalars(sa.select(Organisation).where(Organisation.id.in_(grouped)))
    }
    staff = _staff(session, list(grouped), managers_only)
    written = 0
    for organisation_id, items in grouped.items():
        organisation = organisations[organisation_id]
        payload = json.dumps(
            {
                "organisation": organisation.name,
                "count": len(items),
                "items": items[:LISTED],
                **details,
            }
        )
        recipients = [{"user_id": u} for u in staff.get(organisation_id, [])]
        if not recipients and organisation.referral_email:
            recipients = [{"address": organisation.referral_email}]
        for recipient in recipients:
            who = recipient.get("user_id") or "inbox"
            written += _insert_once(
                session,
                kind=kind,
                payload=payload,
                organisation_id=organisation_id,
                dedupe_key=f"{kind.value}:{key}:{organisation_id}:{who}",
                **recipient,
            )
    return written


def queue_overdue(session: Session, today: dt.date) -> int:
    days = current_app.config["OVERDUE_WORKING_DAYS"]
    cutoff = overdue_cutoff(today, days)
    grouped: dict[int, list] = defaultdict(list)
    rows = session.execute(
        sa.select(Service.organisation_id, Referral.reference, Service.name)
        .join(Service, Referral.service_id == Service.id)
        .where(Referral.status == ReferralStatus.MADE, Referral.referred_on < cutoff)
        .order_by(Service.organisation_id, Referral.referred_on, Referral.id)
    )
    for organisation_id, reference, service in rows:
        grouped[organisation_id].append([reference, service])
    return _to_organisations(
        session,
        Kind.OVERDUE_DIGEST,
        today.isoformat(),
        grouped,
        managers_only=True,
        working_days=days,
    )


def queue_stale(session: Session, today: dt.date, week: str) -> int:
    cutoff = today - dt.timedelta(days=current_app.config["STALE_AFTER_DAYS"])
    grouped: dict[int, list] = defaultdict(list)
    rows = session.execute(
        sa.select(Service.organisation_id, Service.name)
        .where(
            Service.status != ServiceStatus.INACTIVE,
            sa.or_(Service.last_verified_on.is_(None), Service.last_verified_on < cutoff),
        )
        .order_by(Service.organisation_id, Service.name)
    )
    for organisation_id, name in rows:
        grouped[organisation_id].append(name)
    return _to_organisations(session, Kind.STALE_LISTINGS, week, grouped, managers_only=False)


def queue_weekly_summary(session: Session, today: dt.date, week: str) -> int:
    monday = today - dt.timedelta(days=today.weekday())
    start, end = monday - dt.timedelta(days=7), monday - dt.timedelta(days=1)
    payload = json.dumps({"period": f"{format_date(start)} to {format_date(end)}"})
    written = 0
    leads = session.scalars(
        sa.select(User.id).where(User.role == Role.LEAD, User.active, people())
    )
    for user_id in leads:
        written += _insert_once(
            session,
            kind=Kind.WEEKLY_SUMMARY,
            user_id=user_id,
            payload=payload,
            dedupe_key=f"{Kind.WEEKLY_SUMMARY.value}:{week}:{user_id}",
        )
    return written


def queue_digests(session: Session, now: dt.datetime) -> int:
    """Queue whatever digest is due at local time ``now``; returns rows written."""
    if now.hour < current_app.config["NOTIFY_DIGEST_HOUR"]:
        return 0
    today = now.date()
    year, week_number, _ = today.isocalendar()
    week = f"{year}-W{week_number:02d}"
    # Each is looked at once a day per process (earlier days are forgotten); the keys make
    # repeats harmless anyway.
    done = current_app.extensions.setdefault("notification_digests", set())
    done.intersection_update({(name, today) for name in ("overdue", "stale", "weekly")})
    written = 0
    for name, due, queue in (
        ("overdue", is_working_day(today), lambda: queue_overdue(session, today)),
        ("stale", True, lambda: queue_stale(session, today, week)),
        ("weekly", True, lambda: queue_weekly_summary(session, today, week)),
    ):
        if due and (name, today) not in done:
            written += queue()
            session.commit()
            done.add((name, today))
    return written
