"""The sender: claims due outbox rows, delivers them, and records what happened.

- A row is due when it is pending and its next attempt time has come. A sender claims a
  batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite the database
  allows one writer at a time) and marks it with its own token and a lease, then
  commits before sending, so no lock is held while talking to the mail system and
  several senders can share one database without sending anything twice.
- A delivered row is marked sent. A temporary failure (mail server down, Notify busy)
  is tried again after 1, 2, 4, ... minutes (``NOTIFY_RETRY_SECONDS`` doubling, at most
  ``NOTIFY_RETRY_MAX_SECONDS``); after ``NOTIFY_MAX_ATTEMPTS`` attempts, or at once when
  the address or message was refused, it is marked failed and shown to administrators
  at /admin/outbox, who can retry it.
- Each row's claim is renewed just before it is sent, and skipped if another sender has
  taken it since: a batch slow enough to outlast its lease sends nothing twice. A
  stopping sender finishes the message in hand and gives the rest of its batch back.
- A sender that dies mid-batch leaves its rows claimed until the lease ends; another
  sender then takes them. The message in hand when it died may then be delivered
  again, with the same Message-ID or Notify reference (most inboxes show both; a
  webhook's receiver drops the repeat by its event id).
- Webhooks (``webhooks/``) are outbox rows too: posted to the system's own address with
  the same event id on every attempt, retried, failed and retried by administrators
  exactly like messages. When a system fails to take one, its other events wait with it
  until its next attempt: a system that hangs costs each pass one timeout, not one per
  event, and the email behind them is not held up.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import now_utc
from .backends import Backend, DeliveryError
from .kinds import Kind, Status
from .messages import NoOneToTell, NotSent, SplitPerStaff, compose
from .models import Notification

log = logging.getLogger("referrals.notifications")

LEASE = dt.timedelta(minutes=10)


@dataclass
class Tally:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    not_sent: int = 0

    def add(self, other: Tally) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.not_sent += other.not_sent

    @property
    def total(self) -> int:
        return self.sent + self.retrying + self.failed + self.not_sent

    def __str__(self) -> str:
        return (
            f"{self.sent} sent, {self.retrying} to try again, {self.failed} failed, "
            f"{self.not_sent} not needed"
        )


@dataclass(frozen=True)
class Policy:
    max_attempts: int = 8
    retry_seconds: int = 60
    retry_max_seconds: int = 3600

    @classmethod
    def from_config(cls, config) -> Policy:
        return cls(
            config["NOTIFY_MAX_ATTEMPTS"],
            config["NOTIFY_RETRY_SECONDS"],
            config["NOTIFY_RETRY_MAX_SECONDS"],
        )

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait before the next attempt, after ``attempts`` failed ones."""
        seconds = self.retry_seconds * 2 ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.retry_max_seconds))


def claim(session: Session, now: dt.datetime, limit: int) -> tuple[str, list[int]]:
    """Claim up to ``limit`` due rows for this sender; returns its token and their ids."""
    due = (
        sa.select(Notification.id)
        .where(
            Notification.status == Status.PENDING,
            Notification.next_attempt_at <= now,
            sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(due))
    token = secrets.token_hex(8)
    if ids:
        # The same conditions again: on SQLite two senders may have read the same ids.
        session.execute(
            sa.update(Notification)
            .where(
                Notification.id.in_(ids),
                Notification.status == Status.PENDING,
                sa.or_(Notification.claimed_until.is_(None), Notification.claimed_until < now),
            )
            .values(claim_token=token, claimed_until=now + LEASE)
        )
    session.commit()
    if not ids:
        return token, []
    mine = session.scalars(
        sa.select(Notification.id)
        .where(Notification.claim_token == token)
        .order_by(Notification.next_attempt_at, Notification.id)
    )
    return token, list(mine)


def _split(session: Session, row: Notification, users: list) -> None:
    """One message per member of staff, instead of the organisation-wide row."""
    for user in users:
        session.add(
            Notification(
                kind=row.kind,
                referral_id=row.referral_id,
                user_id=user.id,
                payload=row.payload,
                dedupe_key=f"split:{row.id}:{user.id}",
            )
        )
    row.status = Status.SENT
    row.delivery_id = f"split into {len(users)} messages, one per member of staff"


# Kinds of row delivered some other way than as a message through the backend, each by
# a function (session, row) -> delivery id; filled in as the app starts (webhooks).
TRANSPORTS: dict[Kind, Callable[[Session, Notification], str]] = {}


def _send(session: Session, row: Notification, backend: Backend) -> str:
    transport = TRANSPORTS.get(row.kind)
    if transport is not None:
        return transport(session, row)
    return backend.send(compose(session, row))


def deliver_one(
    session: Session, row: Notification, backend: Backend, policy: Policy, now: dt.datetime
) -> str:
    """Try ``row`` once; returns what became of it ('sent', 'retrying', ...)."""
    row.attempts += 1
    row.claim_token = row.claimed_until = None
    outcome = "sent"
    try:
        row.delivery_id = _send(session, row, backend)[:200]
        row.status, row.sent_at, row.last_error = Status.SENT, now_utc(), None
    except NotSent as reason:
        row.status, row.last_error, outcome = Status.CANCELLED, str(reason)[:500], "not_sent"
    except NoOneToTell as reason:
        row.status, row.last_error, outcome = Status.FAILED, str(reason)[:500], "failed"
    except SplitPerStaff as split:
        _split(session, row, split.users)
        outcome = "not_sent"
    except DeliveryError as exc:
        row.last_error = str(exc)[:500]
        if exc.permanent or row.attempts >= policy.max_attempts:
            row.status, outcome = Status.FAILED, "failed"
        else:
            row.next_attempt_at, outcome = now + policy.delay(row.attempts), "retrying"
    except Exception as exc:  # a fault in composing: keep it visible, keep sending others
        log.exception("Outbox row %s could not be composed", row.id)
        row.last_error = f"Could not prepare the message: {exc}"[:500]
        row.status, outcome = Status.FAILED, "failed"
    return outcome


def still_mine(session: Session, notification_id: int, token: str) -> bool:
    """Renew this sender's claim on one row just before sending it, and say whether it
    still holds it: a batch's lease may have run out while earlier rows were slow to
    send, and another sender may then have claimed the row (and sent it)."""
    renewed = session.execute(
        sa.update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.claim_token == token,
            Notification.status == Status.PENDING,
        )
        .values(claimed_until=now_utc() + LEASE)
    ).rowcount
    session.commit()
    return renewed == 1


def release(session: Session, token: str) -> None:
    """Give back the rows this sender claimed and has not sent (it is stopping)."""
    session.execute(
        sa.update(Notification)
        .where(Notification.claim_token == token, Notification.status == Status.PENDING)
        .values(claim_token=None, claimed_until=None)
    )
    session.commit()


def deliver_due(
    session: Session,
    backend: Backend,
    policy: Policy,
    *,
    batch: int = 50,
    limit: int = 10_000,
    stop: Callable[[], bool] = lambda: False,
) -> Tally:
    """Deliver everything due now, a batch at a time; each row is committed on its own.
    When ``stop`` says so, the message in hand is finished and the rest given back."""
    tally = Tally()
    # Systems whose webhook failed in this pass, and when their events are next due: a
    # system that does not answer costs the pass one wait, not one per waiting event.
    waiting_systems: dict[int, dt.datetime] = {}
    while tally.total < limit and not stop():
        now = now_utc()
        token, ids = claim(session, now, batch)
        if not ids:
            break
        for notification_id in ids:
            if stop():
                release(session, token)
                return tally
            if not still_mine(session, notification_id, token):
                continue
            row = session.get(Notification, notification_id)
            if row.api_client_id in waiting_systems:
                _wait_with_its_system(row, waiting_systems[row.api_client_id])
                session.commit()
                tally.retrying += 1
                continue
            outcome = deliver_one(session, row, backend, policy, now_utc())
            if outcome == "retrying" and row.api_client_id is not None:
                waiting_systems[row.api_client_id] = row.next_attempt_at
            session.commit()
            setattr(tally, outcome, getattr(tally, outcome) + 1)
            log.info("Outbox row %s (%s): %s", row.id, row.kind.value, outcome)
    return tally


def _wait_with_its_system(row: Notification, due: dt.datetime) -> None:
    """Not tried now: its system failed to take an earlier event in this pass. It is due
    again with that event, and the try it was not given is not counted."""
    row.next_attempt_at = due
    row.claim_token = row.claimed_until = None
    row.last_error = "Waiting: the system did not take an earlier event; tried again with it."


def retry(session: Session, notification_ids: list[int] | None = None) -> int:
    """Put failed rows back in the queue, with a fresh count of attempts."""
    query = sa.update(Notification).where(Notification.status == Status.FAILED)
    if notification_ids is not None:
        query = query.where(Notification.id.in_(notification_ids))
    result = session.execute(
        query.values(
            status=Status.PENDING,
            attempts=0,
            next_attempt_at=now_utc(),
            claim_token=None,
            claimed_until=None,
        )
    )
    return result.rowcount
