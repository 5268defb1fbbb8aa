"""Writing messages to the outbox, in the same transaction as the change they announce.

A change announced adds its rows and runs no query: the caller has the referral and its
service (with the organisation) loaded already. A change taken back cancels the
messages still waiting, and, where one went already (``withdraw_new_referral``,
``announce_reopened``), reads so and says what changed. The sender process works out the
rest when it sends (``recipients``): the recipient's current address, whether they
still want the message and may still see the referral, and the service's inbox as it is
then (the one written here only shows where it would have gone; a failed message sent
again after an inbox was set or corrected goes to the new one).
"""

from __future__ import annotations

import datetime as dt
import functools
import json

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import Referral, ReferralEvent, Service, User
from .kinds import SERVICE_STATUS_KINDS, STATUS_KINDS, Kind, Status
from .models import Notification

# Messages about a status change wait this long, so that a change undone within the
# undo window (15 minutes) is never announced.
HOLD_FOR_UNDO = dt.timedelta(minutes=16)


def _to_service_inbox(kind: Kind, referral: Referral, service: Service, **payload) -> Notification:
    return Notification(
        kind=kind,
        referral=referral,
        address=service_inbox(service.referral_email, service.organisation.referral_email),
        organisation_id=service.organisation_id,
        payload=json.dumps(payload, sort_keys=True),
    )


def service_inbox(service_email: str | None, organisation_email: str | None) -> str | None:
    """Where a message to a service goes: its own referral inbox, else its
    organisation's (None: neither has one, so the sender writes to the organisation's
    staff)."""
    return service_email or organisation_email or None


def announce_new_referral(session: Session, referral: Referral, service: Service) -> None:
    """Tell the service's referral inbox about a new referral (flushed, so that it has
    its id); ``service`` with its organisation loaded."""
    announce_new_referral_to(
        session,
        referral,
        organisation_id=service.organisation_id,
        address=service_inbox(service.referral_email, service.organisation.referral_email),
    )


def announce_new_referral_to(
    session: Session, referral: Referral, *, organisation_id: int, address: str | None
) -> None:
    """``announce_new_referral`` for a caller that read only the service's organisation
    and inbox (``service_inbox``). One plain insert, with no object to flush, since
    nothing reads the message back while the referral is saved: the row
    ``_to_service_inbox`` would make, the columns' defaults filling the rest."""
    session.connection().execute(
        _new_referral_insert(),
        {
            "kind": Kind.NEW_REFERRAL,
            "referral_id": referral.id,
            "address": address,
            "organisation_id": organisation_id,
            "payload": json.dumps({"urgent": referral.same_day_urgent}, sort_keys=True),
        },
    )


@functools.cache
def _new_referral_insert() -> sa.Insert:
    """``announce_new_referral``'s insert, built once per process."""
    return sa.insert(Notification)


def announce_update(session: Session, referral: Referral) -> None:
    """Tell the service's inbox that the referrer added an update."""
    session.add(_to_service_inbox(Kind.REFERRAL_UPDATE, referral, referral.service))


def announce_status_change(
    session: Session, referral: Referral, event: ReferralEvent, now: dt.datetime
) -> None:
    """Tell the referrer that their referral was accepted, declined, attended or closed
    (not when they made the change themselves), and by whose role: a referral closed by
    a custody colleague or an administrator was not closed by the service. A referral
    closed or passed on by anyone but the service's own staff is announced to the
    service's inbox too, so that nobody there goes on working on it. The user who made
    the change is in the session already (they are the one signed in), so reading their
    role runs no query. Both messages wait out the undo window."""
    status = event.to_status.value if event.to_status else ""
    by = session.get(User, event.user_id) if event.user_id is not None else None
    payload = {"reason": event.reason, "by": by.role.value if by else None}
    kind = STATUS_KINDS.get(status)
    if kind is not None and event.user_id != referral.referrer_id:
        session.add(
            Notification(
                kind=kind,
                referral=referral,
                user_id=referral.referrer_id,
                payload=json.dumps(payload, sort_keys=True),
                next_attempt_at=now + HOLD_FOR_UNDO,
            )
        )
    service_kind = SERVICE_STATUS_KINDS.get(status)
    if service_kind is not None and by is not None and by.role != Role.PROVIDER:
        message = _to_service_inbox(service_kind, referral, referral.service, **payload)
        message.next_attempt_at = now + HOLD_FOR_UNDO
        session.add(message)


def withdraw_new_referral(session: Session, referral: Referral, service: Service) -> None:
    """A new referral taken back at once (passed on by mistake): the message announcing
    it is cancelled if it is still waiting; if it went, the service's inbox is told the
    referral is withdrawn. A message being sent at this moment is waited for (the
    sender holds it locked), and counts as sent."""
    new_referral = sa.and_(
        Notification.referral_id == referral.id, Notification.kind == Kind.NEW_REFERRAL
    )
    session.execute(
        sa.update(Notification)
        .where(new_referral, Notification.status.in_([Status.PENDING, Status.FAILED]))
        .values(status=Status.CANCELLED, last_error="The referral was withdrawn.")
    )
    went = sa.exists().where(new_referral, Notification.status == Status.SENT)
    if session.scalar(sa.select(went)):
        session.add(_to_service_inbox(Kind.WITHDRAWN, referral, service, taken_back=True))


def announce_reopened(session: Session, referral: Referral) -> None:
    """A referral reopened after its service was told it was closed or withdrawn (the
    message went): the service's inbox is told it is back, as a new referral is."""
    told = sa.exists().where(
        Notification.referral_id == referral.id,
        Notification.kind == Kind.WITHDRAWN,
        Notification.status == Status.SENT,
    )
    if session.scalar(sa.select(told)):
        session.add(
            _to_service_inbox(Kind.NEW_REFERRAL, referral, referral.service, reopened=True)
        )


def withdraw_status_message(
    session: Session, referral_id: int, status: str, *, why: str = "The change was undone."
) -> None:
    """A change taken back (undone, or a closed referral reopened) is not announced:
    cancel the message about reaching ``status`` if it is still waiting, or if it failed
    (an administrator's "Try again" would otherwise announce it), saying ``why``."""
    kinds = [k for k in (STATUS_KINDS.get(status), SERVICE_STATUS_KINDS.get(status)) if k]
    if not kinds:
        return
    session.execute(
        sa.update(Notification)
        .where(
            Notification.referral_id == referral_id,
            Notification.kind.in_(kinds),
            Notification.status.in_([Status.PENDING, Status.FAILED]),
        )
        .values(status=Status.CANCELLED, last_error=why)
    )
