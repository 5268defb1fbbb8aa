"""The outbox and each person's choice of messages.

A ``Notification`` is one message to one recipient, written in the same transaction as
the change it announces; the sender process delivers it later. Rows are kept after
sending, as the record of what was sent.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import Organisation, Referral, User, UTCDateTime, choice_column, utcnow
from .kinds import Kind, Status

if TYPE_CHECKING:
    from ..api.models import ApiClient


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[Kind] = mapped_column(choice_column(Kind, "notification_kind"))
    status: Mapped[Status] = mapped_column(
        choice_column(Status, "notification_status"), default=Status.PENDING
    )
    # Who it is for: a user (their current address is used, if they still want it), a
    # plain address (a service's inbox), or an organisation without an inbox (the sender
    # then writes one message per member of staff).
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    address: Mapped[str | None] = mapped_column(sa.String(254))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    # A webhook: the registered system whose address the event is posted to.
    api_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_clients.id"), index=True)
    # What the message needs besides the referral, as JSON (never personal data).
    payload: Mapped[str] = mapped_column(sa.Text, default="{}")
    # Rows made by the sender itself (digests) carry a key, so that two senders, or one
    # restarted, never write the same digest twice.
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A sender that claimed the row owns it until then (if it dies, another takes over).
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The backend's id for the delivered message (SMTP Message-ID or Notify's id).
    delivery_id: Mapped[str | None] = mapped_column(sa.String(200))

    user: Mapped[User | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    referral: Mapped[Referral | None] = relationship()
    # Named, not imported: the API clients live above the notifications.
    api_client: Mapped[ApiClient | None] = relationship("ApiClient")


class NotificationPreference(db.Model):
    """A message kind a user turned off (or back on); no row means the default: on."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[Kind] = mapped_column(choice_column(Kind, "preference_kind"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
