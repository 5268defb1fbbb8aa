"""Custody contacts (DESIGN.md section 5): everyone seen in custody about drugs or
alcohol, whether or not they were referred.

A contact is the denominator of the funnel: it says whether the person was offered
arrest referral and what came of it, and whether naloxone was offered. It never holds
an identifier (no custody record number, name or phone): those belong to a referral,
which needs the person's consent. A contact whose outcome is "referral made" is linked
to that referral once it is saved.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..choices import AgeBand, CloseReason, Sex
from ..extensions import db
from ..models import (
    CouncilArea,
    CustodySuite,
    Referral,
    Service,
    User,
    UTCDateTime,
    choice_column,
    utcnow,
)
from .choices import ContactDeclineReason, ContactOutcome, NaloxoneStatus, NotSuitableReason


class CustodyContact(db.Model):
    __tablename__ = "custody_contacts"
    __table_args__ = (
        sa.CheckConstraint(
            "outcome NOT IN ('referral_made', 'declined') OR offered", name="offered"
        ),
        sa.CheckConstraint("outcome <> 'released_before_seen' OR NOT offered", name="unseen"),
        sa.CheckConstraint(
            "(outcome = 'declined') = (decline_reason IS NOT NULL)", name="declined_has_reason"
        ),
        sa.CheckConstraint(
            "(outcome = 'not_suitable') = (not_suitable_reason IS NOT NULL)",
            name="not_suitable_has_reason",
        ),
        sa.CheckConstraint(
            "treatment_service_id IS NULL OR outcome = 'already_in_treatment'",
            name="treatment_service",
        ),
        sa.CheckConstraint("referral_id IS NULL OR outcome = 'referral_made'", name="referral"),
        sa.CheckConstraint("version >= 1", name="version"),
        # The suite's list, newest first, a page at a time (keyset on date and id).
        sa.Index("ix_custody_contacts_suite_date", "custody_suite_id", "contact_on", "id"),
        # Covers the columns the funnel measures read, so they aggregate from the index.
        sa.Index(
            "ix_custody_contacts_measures",
            "contact_on",
            "council_area_id",
            "custody_suite_id",
            "offered",
            "outcome",
            "naloxone",
            "veteran",
            "age_band",
            "sex",
            "decline_reason",
            "referral_id",
        ),
        # The contact given another outcome after its referral was closed as entered in
        # error, found again when that closing is taken back (few: a partial index).
        sa.Index(
            "ix_custody_contacts_released_from",
            "released_from_id",
            postgresql_where=sa.text("released_from_id IS NOT NULL"),
            sqlite_where=sa.text("released_from_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    custody_suite_id: Mapped[int] = mapped_column(sa.ForeignKey("custody_suites.id"))
    # The day the person was seen, in local time.
    contact_on: Mapped[dt.date]
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    age_band: Mapped[AgeBand] = mapped_column(choice_column(AgeBand, "age_band"))
    sex: Mapped[Sex] = mapped_column(choice_column(Sex, "sex"))
    # The home postcode district (None: no fixed abode, or erased with its referral's
    # personal data: see ``home_district``) and so the council of residence (the suite's
    # council for no fixed abode).
    postcode_district: Mapped[str | None] = mapped_column(sa.String(4))
    council_area_id: Mapped[int] = mapped_column(sa.ForeignKey("council_areas.id"))
    offered: Mapped[bool]
    outcome: Mapped[ContactOutcome] = mapped_column(choice_column(ContactOutcome, "outcome"))
    decline_reason: Mapped[ContactDeclineReason | None] = mapped_column(
        choice_column(ContactDeclineReason, "contact_decline_reason")
    )
    not_suitable_reason: Mapped[NotSuitableReason | None] = mapped_column(
        choice_column(NotSuitableReason, "not_suitable_reason")
    )
    # Already in treatment: with which service, when known.
    treatment_service_id: Mapped[int | None] = mapped_column(sa.ForeignKey("services.id"))
    naloxone: Mapped[NaloxoneStatus] = mapped_column(choice_column(NaloxoneStatus, "naloxone"))
    veteran: Mapped[bool | None]  # None: not asked
    referral_id: Mapped[int | None] = mapped_column(sa.ForeignKey("referrals.id"), unique=True)
    # Its referral was closed as entered in error, then the contact was given another
    # outcome (the person declined after all, say): the link is let go, and this keeps
    # the referral's id, so that taking that closing back finds the contact (see
    # ``contacts.linking``). A plain id, as ``Referral.contact_moved_to_id``.
    released_from_id: Mapped[int | None] = mapped_column(sa.Integer)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}

    custody_suite: Mapped[CustodySuite] = relationship()
    recorded_by: Mapped[User] = relationship()
    council_area: Mapped[CouncilArea] = relationship()
    treatment_service: Mapped[Service | None] = relationship()
    referral: Mapped[Referral | None] = relationship()

    @property
    def awaiting_referral(self) -> bool:
        """Recorded as "referral made" but the referral is not saved yet, or the one
        saved was closed as entered in error (the right one is still to be made)."""
        return self.outcome == ContactOutcome.REFERRAL_MADE and (
            self.referral_id is None or self.referral.close_reason == CloseReason.ENTERED_IN_ERROR
        )

    @property
    def home_district(self) -> str:
        """Where the person lives as pages show it: the district, "No fixed abode", or
        "Erased" once the retention purge has erased its referral's personal data, which
        empties the district as no fixed abode does (``tracking.retention``)."""
        if self.postcode_district:
            return self.postcode_district
        if self.referral is not None and self.referral.personal_data_erased_at is not None:
            return "Erased"
        return "No fixed abode"

    def __repr__(self) -> str:
        return f"<CustodyContact {self.id} {self.contact_on} {self.outcome}>"
