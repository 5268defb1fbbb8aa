"""Feedback about the service itself, sent from the contact page."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models import User, UTCDateTime, utcnow


class Feedback(db.Model):
    """What someone told us about the service. Anonymous unless they leave an address;
    the role of a signed-in sender is kept, so feedback can be read by kind of user."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    role: Mapped[str | None] = mapped_column(sa.String(32))
    page: Mapped[str | None] = mapped_column(sa.String(200))
    message: Mapped[str] = mapped_column(sa.Text)
    reply_to: Mapped[str | None] = mapped_column(sa.String(254))
    dealt_with_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dealt_with_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    dealt_with_by: Mapped[User | None] = relationship()
