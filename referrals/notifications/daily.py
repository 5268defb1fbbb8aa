"""The sender's daily work beside the messages, done once a day whichever sender is up:

- the retention purge (``privacy/purge.py``): personal data of referrals finished longer
  ago than ``PERSONAL_DATA_RETENTION_DAYS`` is erased, with problem reporters' contacts
  and ended sessions; it is done when no purge has been recorded in the audit log since
  local midnight, so a restarted sender, or a second one, does not repeat it (two senders
  starting in the same second may both run it: the second erases nothing);
- today's published report figures (``reports/snapshot.py``), so that the first reader of
  the day does not wait for them; the snapshot's own row makes sure only one process
  builds them.

Off with ``SENDER_DAILY_WORK=false`` (for a deployment that runs ``purge-personal-data``
and ``refresh-reports`` from cron instead).
"""

from __future__ import annotations

import datetime as dt
import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AuditEvent

log = logging.getLogger("referrals.notifications")
PURGED = "personal_data_purged"


def purged_since(session: Session, since: dt.datetime) -> bool:
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == PURGED, AuditEvent.at >= since)
        )
        > 0
    )


def daily_work(session: Session, now: dt.datetime) -> list[str]:
    """Do what is due today (``now`` in local time); returns what was done."""
    from ..privacy.purge import run_scheduled_purge
    from ..reports.params import todays_figures

    done = []
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    if not purged_since(session, midnight):
        summary = run_scheduled_purge(session)
        session.commit()
        log.info(
            "Retention purge: %s referrals erased, %s problem reporters' contacts, "
            "%s old sessions.",
            summary.referrals.erased,
            summary.problem_contacts,
            summary.sessions,
        )
        done.append("purge")
    snapshot = todays_figures()
    session.commit()
    log.info("Report figures for %s are ready.", snapshot.as_of.isoformat())
    done.append("reports")
    return done
