"""The scheduled purge: run daily (by cron, a systemd timer or the outbox sender), it
erases personal data once its retention period is over.

- Referrals closed or declined more than ``PERSONAL_DATA_RETENTION_DAYS`` ago lose
  everything that describes the person (``tracking/retention.py`` says what stays).
- A problem report's contact details go ``PROBLEM_CONTACT_RETENTION_DAYS`` after the
  problem was resolved, and a feedback sender's reply address as long after the
  feedback was dealt with.
- Sessions that ended more than a day ago and rate-limit counts whose window closed are
  deleted (they hold addresses and browser names).
- Messages and webhook events no longer waiting to be sent (sent, not sent, or failed)
  are deleted ``OUTBOX_RETENTION_DAYS`` after they were made: they name referrals, the
  reason one closed, and staff email addresses.

Each run writes one audit row with what it erased. Running it twice erases nothing more;
several servers may run it at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from .. import once, rate_limits
from ..about.models import Feedback
from ..audit import record
from ..auth.models import UserSession
from ..clock import now_utc, today_local
from ..models import ListingProblem
from ..notifications.kinds import Status
from ..notifications.models import Notification
from ..tracking.retention import PurgeReport, purge_personal_data

SESSION_KEEP = dt.timedelta(days=1)


@dataclass
class PurgeSummary:
    referrals: PurgeReport
    problem_contacts: int
    sessions: int
    counters: int
    form_tokens: int = 0  # forms' one-time tokens older than a day (``once.py``)
    feedback_addresses: int = 0  # feedback reply addresses erased
    outbox_rows: int = 0  # messages and webhook events deleted


def run_scheduled_purge(
    session: Session,
    *,
    older_than_days: int | None = None,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    actor: str = "scheduled purge",
) -> PurgeSummary:
    """Erase what the retention settings say is due (``older_than_days`` overrides the
    referrals' retention). Writes an audit row; the caller commits."""
    config = current_app.config
    now = now or now_utc()
    today = today_local()
    days = older_than_days or config["PERSONAL_DATA_RETENTION_DAYS"]
    referrals = purge_personal_data(session, days, today, now, dry_run)
    contact_cutoff = now - dt.timedelta(days=config["PROBLEM_CONTACT_RETENTION_DAYS"])
    contacts = (
        sa.update(ListingProblem.__table__)
        .where(
            ListingProblem.resolved_at < contact_cutoff,
            ListingProblem.reporter_contact.is_not(None),
        )
        .values(reporter_contact=None)
    )
    addresses = (
        sa.update(Feedback.__table__)
        .where(Feedback.dealt_with_at < contact_cutoff, Feedback.reply_to.is_not(None))
        .values(reply_to=None)
    )
    old_outbox = sa.delete(Notification.__table__).where(
        Notification.status.in_([Status.SENT, Status.CANCELLED, Status.FAILED]),
        Notification.created_at < now - dt.timedelta(days=config["OUTBOX_RETENTION_DAYS"]),
    )
    long_ago = now - SESSION_KEEP
    old_sessions = sa.delete(UserSession.__table__).where(
        sa.or_(UserSession.ended_at < long_ago, UserSession.expires_at < long_ago)
    )
    if dry_run:
        problem_contacts = _count(session, ListingProblem, contacts.whereclause)
        feedback_addresses = _count(session, Feedback, addresses.whereclause)
        outbox_rows = _count(session, Notification, old_outbox.whereclause)
        sessions = _count(session, UserSession, old_sessions.whereclause)
        counters = 0
        form_tokens = once.sweep(session, now, dry_run=True)
    else:
        problem_contacts = session.execute(contacts).rowcount
        feedback_addresses = session.execute(addresses).rowcount
        outbox_rows = session.execute(old_outbox).rowcount
        sessions = session.execute(old_sessions).rowcount
        counters = rate_limits.sweep(session.connection())
        form_tokens = once.sweep(session, now)
    summary = PurgeSummary(
        referrals,
        problem_contacts,
        sessions,
        counters,
        form_tokens,
        feedback_addresses,
        outbox_rows,
    )
    record(
        "personal_data_purge_dry_run" if dry_run else "personal_data_purged",
        object_type="referrals",
        actor=actor,
        detail={
            "older_than_days": days,
            "cutoff": referrals.cutoff.isoformat(),
            "eligible": referrals.eligible,
            "erased": referrals.erased,
            "already_erased": referrals.already_erased,
            "problem_contacts": problem_contacts,
            "feedback_addresses": feedback_addresses,
            "outbox_rows": outbox_rows,
            "sessions": sessions,
        },
    )
    return summary


def _count(session: Session, model, condition) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(condition))
