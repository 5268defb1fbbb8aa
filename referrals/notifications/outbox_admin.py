"""What administrators see of the outbox: failed deliveries, and whether the sender is
keeping up (the oldest message still waiting)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from .kinds import Status
from .models import Notification

SHOWN = 200


@dataclass
class OutboxView:
    counts: dict[Status, int]
    failed: list[Notification]
    waiting: list[Notification]
    oldest_due: dt.datetime | None


def outbox_view(session: Session, now: dt.datetime) -> OutboxView:
    counts = dict(
        session.execute(
            sa.select(Notification.status, sa.func.count()).group_by(Notification.status)
        ).all()
    )
    loading = (
        selectinload(Notification.user),
        selectinload(Notification.referral),
        selectinload(Notification.api_client),
    )
    failed = session.scalars(
        sa.select(Notification)
        .where(Notification.status == Status.FAILED)
        .options(*loading)
        .order_by(Notification.id.desc())
        .limit(SHOWN)
    ).all()
    waiting = session.scalars(
        sa.select(Notification)
        .where(Notification.status == Status.PENDING)
        .options(*loading)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(50)
    ).all()
    oldest_due = session.scalar(
        sa.select(sa.func.min(Notification.next_attempt_at)).where(
            Notification.status == Status.PENDING, Notification.next_attempt_at <= now
        )
    )
    return OutboxView(
        counts={status: counts.get(status, 0) for status in Status},
        failed=list(failed),
        waiting=list(waiting),
        oldest_due=oldest_due,
    )
