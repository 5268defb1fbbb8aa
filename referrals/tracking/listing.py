"""The referral list: the referrals in a user's scope that match a search, a page at a
time. A custody record number is matched through its keyed hash (the numbers themselves
are encrypted), ignoring spaces and case; a search for one person is never paged."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import ReferralStatus
from ..encryption import keyring
from ..models import Referral, User
from .scope import in_scope

PER_PAGE = 25
PERSON_LIMIT = 200


@dataclass(frozen=True)
class ReferralSearch:
    reference: str | None = None  # RP-XXXX-XXXX
    person_ref: str | None = None  # a custody record number
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    status: str | None = None
    overdue: bool = False
    page: int = 1

    def link_args(self) -> dict[str, str]:
        """The filters for page links: everything but a custody record number."""
        args = {
            "reference": self.reference,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "status": self.status,
            "overdue": "1" if self.overdue else None,
        }
        return {k: v for k, v in args.items() if v}

    def audit_detail(self) -> dict:
        """What the audit log keeps of a search (never the custody record number)."""
        detail: dict = dict(self.link_args())
        if self.person_ref:
            detail["by"] = "custody record number"
        return detail


@dataclass
class ReferralPage:
    referrals: list[Referral]
    total: int
    page: int
    pages: int


def list_referrals(
    session: Session, user: User, search: ReferralSearch, overdue_before: dt.date
) -> ReferralPage:
    query = sa.select(Referral).where(in_scope(user))
    if search.reference and search.person_ref:
        query = query.where(
            sa.or_(
                Referral.reference == search.reference,
                Referral.person_ref_hash.in_(keyring().search_hashes(search.person_ref)),
            )
        )
    elif search.reference:
        query = query.where(Referral.reference == search.reference)
    elif search.person_ref:
        query = query.where(
            Referral.person_ref_hash.in_(keyring().search_hashes(search.person_ref))
        )
    if search.date_from:
        query = query.where(Referral.referred_on >= search.date_from)
    if search.date_to:
        query = query.where(Referral.referred_on <= search.date_to)
    if search.status:
        query = query.where(Referral.status == search.status)
    if search.overdue:
        query = query.where(Referral.status == ReferralStatus.MADE).where(
            Referral.referred_on < overdue_before
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    per_page = PERSON_LIMIT if search.person_ref else PER_PAGE
    pages = max(1, math.ceil(total / per_page))
    page = min(max(search.page, 1), pages)
    referrals = session.scalars(
        query.options(selectinload(Referral.service), selectinload(Referral.council_area))
        .order_by(Referral.made_at.desc(), Referral.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return ReferralPage(list(referrals), total, page, pages)
