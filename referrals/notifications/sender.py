"""The sender: claims due outbox rows, delivers them, and records what happened.

- A row is due when it is pending and its next attempt time has come. A sender claims a
  batch with ``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; on SQLite the database
  allows one writer at a time) and marks it with its own token and a lease, then
  commits before sending, so that several senders can share one database without
  sending anything twice.
- Nothing is written while a row is sent: it is made ready (its recipient, its words, a
  webhook's body) without writing, the transaction is ended, and only then is the mail
  system or webhook called; what became of it is written afterwards, in a short
  transaction of its own. So no lock is held while the other end answers (on SQLite a
  write lock held through a slow mail server stops every web request that saves). The
  row stays claimed meanwhile, and its claim is ended only with that record.
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
  exactly like messages, and in the order they were made (``ordering``). When a system
  fails to take one, its other events wait with it: a system that hangs costs each pass
  one timeout, not one per event, and the email behind them is not held up.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..clock import now_utc
from .backends import Backend, DeliveryError
from .kinds import Kind, Status
from .messages import NoOneToTell, NotSent, SplitPerStaff, compose
from .models import Notification
from .ordering import older_event_due, wait_for_older_event

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
# a function (session, row) that reads what the delivery needs, or raises ``NotSent``,
# and returns the call that makes it (no database needed) and gives the delivery id;
# filled in as the app starts (webhooks).
TRANSPORTS: dict[Kind, Callable[[Session, Notification], Callable[[], str]]] = {}

# What ends an attempt as expected; anything else is a fault, logged and kept visible.
OUTCOMES = (NotSent, NoOneToTell, SplitPerStaff, DeliveryError)


def prepare(
    session: Session, row: Notification, backend: Backend
) -> tuple[Callable[[], str], str | None]:
    """The call that delivers ``row``, and the address it goes to (None for a
    transport's own); raises ``NotSent``, ``NoOneToTell`` or ``SplitPerStaff``."""
    transport = TRANSPORTS.get(row.kind)
    if transport is not None:
        return transport(session, row), None
    message = compose(session, row)
    return partial(backend.send, message), message.to


def deliver_one(
    session: Session, row: Notification, backend: Backend, policy: Policy, now: dt.datetime
) -> str:
    """Try ``row`` once; returns what became of it ('sent', 'retrying', ...)."""
    row_id, token, to = row.id, row.claim_token, None
    try:
        with session.no_autoflush:
            send, to = prepare(session, row, backend)
        session.commit()  # ends the transaction: nothing is held while the other end answers
        result: str | BaseException = send()
    except OUTCOMES as outcome:
        result = outcome
    except Exception as fault:
        log.exception("Outbox row %s could not be prepared or sent", row_id)
        result = fault
    if not end_claim(session, row_id, token):
        log.warning("Outbox row %s was taken by another sender while this one sent it", row_id)
        return "retrying"
    return record(session, row, result, to, policy, now)


def end_claim(session: Session, notification_id: int, token: str | None) -> bool:
    """End this sender's claim on a row it tried, starting the transaction that records
    the attempt; False when the claim ran out meanwhile and another sender took the row
    (that sender's record stands, and its claim is left alone)."""
    ended = session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.claim_token == token)
        .values(claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if ended != 1:
        session.rollback()
    return ended == 1


def record(
    session: Session,
    row: Notification,
    result: str | BaseException,
    to: str | None,
    policy: Policy,
    now: dt.datetime,
) -> str:
    """Write what became of an attempt (a delivery id, or why not); returns it."""
    row.attempts += 1
    row.claim_token = row.claimed_until = None
    if to is not None and row.user_id is None:
        row.address = to  # a service's inbox as it was when sent (people's: on their row)
    match result:
        case str():
            row.delivery_id = result[:200]
            row.status, row.sent_at, row.last_error = Status.SENT, now_utc(), None
            return "sent"
        case NotSent():
            row.status, row.last_error = Status.CANCELLED, str(result)[:500]
            return "not_sent"
        case NoOneToTell():
            row.status, row.last_error, row.address = Status.FAILED, str(result)[:500], None
            return "failed"
        case SplitPerStaff():
            _split(session, row, result.users)
            return "not_sent"
        case DeliveryError():
            row.last_error = str(result)[:500]
            if result.permanent or row.attempts >= policy.max_attempts:
                row.status = Status.FAILED
                return "failed"
            row.next_attempt_at = now + policy.delay(row.attempts)
            return "retrying"
    row.last_error = f"Could not prepare the message: {result}"[:500]
    row.status = Status.FAILED
    return "failed"


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
            if row.api_client_id is not None:
                due = older_event_due(session, row, token, now_utc(), policy.delay(1))
                if due is not None:
                    wait_for_older_event(row, due)
                    session.commit()
                    tally.retrying += 1
                    continue
            outcome = deliver_one(session, row, backend, policy, now_utc())
            session.commit()
            setattr(tally, outcome, getattr(tally, outcome) + 1)
            log.info("Outbox row %s (%s): %s", notification_id, row.kind.value, outcome)
    return tally


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
