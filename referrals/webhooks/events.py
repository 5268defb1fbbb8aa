"""Every status change to a referral, told to the systems with that referral in scope.

A status change is a new ``ReferralEvent`` whose status differs from the one before (a
new referral, accepted, declined, engaged, treatment started, closed, reopened, an undo,
a referral passed on); outcomes recorded without a change of status are not. Whichever
code makes the change, the flush that writes the event also writes one outbox row per
system (custody systems of the referral's suite, case systems of the organisation it was
sent to) that has a webhook address, so the row commits or rolls back with the change. The
one event written as a plain row, with no object for a flush to see (a new referral's
first, by ``tracking.making``), asks ``new_referral_made`` for the same rows.

Each row holds the whole event as it will be posted: a fresh event id (the same on every
attempt, so a receiver can drop a repeat), the referral's public id, reference, new
status and its version once the change was saved, and when it happened. Nothing about
the person is written.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..api.models import ApiClient, api_client_suites
from ..choices import ReferralStatus, Role
from ..clock import now_utc
from ..models import Referral, ReferralEvent, Service, User
from ..notifications.kinds import Kind, Status
from ..notifications.models import Notification

EVENT_TYPE = "referral.status_changed"


def listening_clients() -> sa.Select:
    """Active systems with a webhook address."""
    return sa.select(ApiClient.id).where(
        ApiClient.webhook_url.is_not(None),
        ApiClient.revoked_at.is_(None),
        ApiClient.role.in_([Role.CUSTODY, Role.PROVIDER]),
    )


@functools.cache
def any_listening() -> sa.Select:
    """Whether any system listens: built once, since every status change asks it."""
    return listening_clients().limit(1)


def listening_column() -> sa.Label[bool]:
    """Whether any system listens, as a column another statement can carry, so that a
    save that is about to change a status need not ask apart (see ``remember``)."""
    return sa.exists(any_listening()).label("webhooks_listening")


def remember(session: Session, listening: bool) -> None:
    """Keep what a statement of this transaction read through ``listening_column``: the
    flushes before the transaction ends use it instead of asking again. It is read in
    the same transaction as the change, before the commit, as the check it replaces."""
    session.info[_LISTENING] = bool(listening)


_LISTENING = "webhooks_listening"


def _listening(session: Session, connection) -> bool:
    known = session.info.get(_LISTENING)
    if known is not None:
        return known
    return connection.execute(any_listening()).first() is not None


def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_LISTENING, None)


def clients_for(referral: Referral) -> sa.Select:
    """The listening systems whose scope takes in ``referral``."""
    suite = sa.select(api_client_suites.c.api_client_id).where(
        api_client_suites.c.custody_suite_id == referral.custody_suite_id
    )
    organisation = (
        sa.select(Service.organisation_id)
        .where(Service.id == referral.service_id)
        .scalar_subquery()
    )
    staff = sa.select(User.id).where(User.organisation_id == organisation)
    return (
        listening_clients()
        .where(
            sa.or_(
                sa.and_(ApiClient.role == Role.CUSTODY, ApiClient.id.in_(suite)),
                sa.and_(ApiClient.role == Role.PROVIDER, ApiClient.user_id.in_(staff)),
            )
        )
        .order_by(ApiClient.id)
    )


def body_fields(referral: Referral, to_status: str, at: dt.datetime | None) -> dict:
    """What the post says about ``referral`` reaching ``to_status`` at ``at``, apart
    from the links (added when it is sent)."""
    at = at or now_utc()
    return {
        "id": str(uuid.uuid4()),
        "type": EVENT_TYPE,
        "occurred_at": at.isoformat().replace("+00:00", "Z"),
        "referral": {
            "id": str(referral.uuid),
            "reference": referral.reference,
            "status": ReferralStatus(to_status).value,
            "version": referral.version,
        },
    }


def status_changes(session: Session) -> list[ReferralEvent]:
    """The flush's new events that change a status, in the order they were written."""
    found = [
        obj
        for obj in session.new
        if isinstance(obj, ReferralEvent)
        and obj.to_status is not None
        and (
            obj.from_status is None
            or ReferralStatus(obj.to_status) != ReferralStatus(obj.from_status)
        )
    ]
    return sorted(found, key=lambda obj: obj.id or 0)


def _tell(session: Session, changes: list[tuple[Referral, str, dt.datetime | None]]) -> None:
    """One outbox row per listening system in scope of each ``(referral, new status,
    when)``, unless no system listens at all."""
    connection = session.connection()
    if not _listening(session, connection):
        return
    rows = []
    now = now_utc()
    for referral, to_status, at in changes:
        for (client_id,) in connection.execute(clients_for(referral)):
            rows.append(
                {
                    "kind": Kind.WEBHOOK,
                    "status": Status.PENDING,
                    "api_client_id": client_id,
                    "referral_id": referral.id,
                    "payload": json.dumps(body_fields(referral, to_status, at), sort_keys=True),
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if rows:
        connection.execute(sa.insert(Notification), rows)


def _after_flush(session: Session, _context) -> None:
    changes = status_changes(session)
    if changes:
        _tell(session, [(change.referral, change.to_status, change.at) for change in changes])


def new_referral_made(session: Session, referral: Referral, at: dt.datetime) -> None:
    """A new referral (flushed) whose first event was written as a plain row, with no
    event object for the flush to see: the same rows the flush would write for it."""
    _tell(session, [(referral, ReferralStatus.MADE, at)])


def listen() -> None:
    """Watch every session's flushes (once per process)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_transaction_end", _forget)
