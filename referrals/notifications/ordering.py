"""Webhook events reach each system in the order they were made.

An event is not posted while an older one to the same system is still waiting, whether
to be tried again after a failure or in another sender's hands: it waits until that one
is next due, and the claim's order (due time, then age) posts the older first. Events
that failed for good, or were not needed, hold nothing up: one an administrator sends
again arrives after the newer ones (its version and time say it is older).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .kinds import Status
from .models import Notification


def older_event_due(
    session: Session, row: Notification, token: str, now: dt.datetime, wait: dt.timedelta
) -> dt.datetime | None:
    """When the next of the system's older events still waiting is due, or None when
    none is (``row`` may then be posted). While another sender (not the one holding
    ``token``) has one in hand, ``row`` is looked at again after ``wait`` instead, so
    that this sender's pass does not come back to it at once."""
    older = (
        Notification.api_client_id == row.api_client_id,
        Notification.status == Status.PENDING,
        Notification.id < row.id,
    )
    due = session.scalar(sa.select(sa.func.min(Notification.next_attempt_at)).where(*older))
    if due is None:
        return None
    elsewhere = sa.select(Notification.id).where(
        *older, Notification.claimed_until > now, Notification.claim_token != token
    )
    if session.scalar(elsewhere.limit(1)) is not None:
        return max(due, now + wait)
    return due


def wait_for_older_event(row: Notification, due: dt.datetime) -> None:
    """Not tried now: an older event to its system is still waiting. It is due again
    with that event (and sent after it), and the try it was not given is not counted."""
    row.next_attempt_at = due
    row.claim_token = row.claimed_until = None
    row.last_error = "Waiting: an earlier event to this system is not delivered yet."
