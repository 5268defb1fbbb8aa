"""Following a referral through, beside its lifecycle: the provider's contact attempts
and the referrer's updates. Neither changes the referral's status; both show on its
timeline, and their free text is stored encrypted and erased by the retention job like
the referral's notes.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import AttemptMethod, AttemptOutcome
from ..encryption import EncryptedText
from ..extensions import db
from ..models import Referral, User, UTCDateTime, choice_column, utcnow


class ContactAttempt(db.Model):
    """One attempt by the service to reach the person: when, how, and what came of it."""

    __tablename__ = "contact_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempted_on: Mapped[dt.date]
    method: Mapped[AttemptMethod] = mapped_column(choice_column(AttemptMethod, "attempt_method"))
    outcome: Mapped[AttemptOutcome] = mapped_column(
        choice_column(AttemptOutcome, "attempt_outcome")
    )
    note: Mapped[str | None] = mapped_column(EncryptedText)

    referral: Mapped[Referral] = relationship()
    user: Mapped[User | None] = relationship()


class ReferralUpdate(db.Model):
    """Something the referrer learnt after making the referral: a release date, a new
    phone number (which replaces the one on the referral), or a message for the service."""

    __tablename__ = "referral_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    referral_id: Mapped[int] = mapped_column(sa.ForeignKey("referrals.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    release_on: Mapped[dt.date | None]
    phone_changed: Mapped[bool] = mapped_column(default=False)
    message: Mapped[str | None] = mapped_column(EncryptedText)

    referral: Mapped[Referral] = relationship()
    user: Mapped[User | None] = relationship()
