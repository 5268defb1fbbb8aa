"""Who sees which referrals (DESIGN.md section 2), as query conditions, so that records
outside a user's scope are never loaded at all."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session, selectinload

from ..choices import Role
from ..models import Referral, ReferralEvent, Service, User


def in_scope(user: User) -> sa.ColumnElement[bool]:
    """The condition a referral must meet to be visible to ``user``."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.CUSTODY and user.custody_suite_id is not None:
        return Referral.custody_suite_id == user.custody_suite_id
    if user.role == Role.PROVIDER and user.organisation_id is not None:
        return Referral.service_id.in_(
            sa.select(Service.id).where(Service.organisation_id == user.organisation_id)
        )
    return sa.false()  # area leads and anyone else: no person-level records


def referral_for(session: Session, user: User, referral_id: int) -> Referral:
    """The referral if ``user`` may see it; otherwise 404, exactly as if it did not exist."""
    referral = session.scalar(
        sa.select(Referral)
        .where(Referral.id == referral_id, in_scope(user))
        .options(
            selectinload(Referral.events).selectinload(ReferralEvent.user),
            selectinload(Referral.service).selectinload(Service.organisation),
            selectinload(Referral.custody_suite),
            selectinload(Referral.referrer),
            selectinload(Referral.council_area),
        )
    )
    if referral is None:
        abort(404)
    return referral
