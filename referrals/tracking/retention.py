"""Retention: erase the most sensitive fields of referrals finished long ago.

A referral is finished when it is closed or declined. After the retention period
everything that describes the person is erased: the custody record number (and its
search hash), contact name, phone number and preferred contact method, notes,
substances, needs and the postcode district (on the referral and on the custody
contact it came from, which took it from the referral), and so are the free-text notes
on its events (the one change ever made to events: their status, dates and reasons
stay), on its contact attempts and on the referrer's updates. The fields the measures
need (dates, council area, service, pathway, age band, sex, outcomes, and whether
children live in the household, which "children affected" counts) are kept, so every
report gives the same figures before and after. A referral once erased cannot be
reopened (``lifecycle.apply``), so nothing is written to it again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ReferralStatus
from ..contacts.models import CustodyContact
from ..models import Referral, ReferralEvent
from .models import ContactAttempt, ReferralUpdate


@dataclass
class PurgeReport:
    eligible: int
    already_erased: int
    erased: int
    cutoff: dt.date


def _finished_before(cutoff: dt.date) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(Referral.status == ReferralStatus.CLOSED, Referral.closed_on < cutoff),
        sa.and_(Referral.status == ReferralStatus.DECLINED, Referral.declined_on < cutoff),
    )


def purge_personal_data(
    session: Session, older_than_days: int, today: dt.date, now: dt.datetime, dry_run: bool
) -> PurgeReport:
    """Erase the personal data of referrals finished more than ``older_than_days``
    before ``today``. The caller commits."""
    cutoff = today - dt.timedelta(days=older_than_days)
    finished = _finished_before(cutoff)
    eligible = session.scalar(sa.select(sa.func.count()).select_from(Referral).where(finished))
    pending = sa.select(Referral.id).where(finished, Referral.personal_data_erased_at.is_(None))
    to_erase = session.scalar(sa.select(sa.func.count()).select_from(pending.subquery()))
    if not dry_run and to_erase:
        ids = pending.scalar_subquery()
        session.execute(
            sa.update(ReferralEvent.__table__)
            .where(ReferralEvent.referral_id.in_(ids), ReferralEvent.note.is_not(None))
            .values(note=None)
        )
        session.execute(
            sa.update(ContactAttempt.__table__)
            .where(ContactAttempt.referral_id.in_(ids), ContactAttempt.note.is_not(None))
            .values(note=None)
        )
        session.execute(
            sa.update(ReferralUpdate.__table__)
            .where(ReferralUpdate.referral_id.in_(ids), ReferralUpdate.message.is_not(None))
            .values(message=None)
        )
        session.execute(
            sa.update(CustodyContact.__table__)
            .where(
                sa.or_(
                    CustodyContact.referral_id.in_(ids),
                    # Released from it (entered in error), and not tied to another since.
                    sa.and_(
                        CustodyContact.referral_id.is_(None),
                        CustodyContact.released_from_id.in_(ids),
                    ),
                ),
                CustodyContact.postcode_district.is_not(None),
            )
            .values(postcode_district=None)
        )
        session.execute(
            sa.update(Referral.__table__)
            .where(Referral.id.in_(ids))
            .values(
                person_ref=None,
                person_ref_hash=None,
                contact_name=None,
                contact_phone=None,
                contact_method=None,
                notes=None,
                substances="",
                needs="",
                postcode_district=None,
                personal_data_erased_at=now,
                # A changed record: systems keeping a copy see a new version.
                version=Referral.__table__.c.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
    return PurgeReport(eligible, eligible - to_erase, 0 if dry_run else to_erase, cutoff)
