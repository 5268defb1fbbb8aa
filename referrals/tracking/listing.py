"""The referral list: the referrals in a user's scope that match a search, newest first,
a page at a time by keyset (``keyset.py``) along the ``(custody_suite_id, made_at, id)``
index for custody staff and ``(made_at, id)`` for everyone else. A custody record number
is matched through its keyed hash (the numbers themselves are encrypted), ignoring spaces
and case; a search for one person is never paged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from ..choices import ReferralStatus
from ..encryption import keyring
from ..keyset import capped_count, page
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
    after: int | None = None  # the page after this referral (older ones)
    before: int | None = None  # the page before this referral (newer ones)

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
    total: int  # how many match, counted up to ``keyset.COUNT_CAP`` and one more
    newer: int | None  # the referral to pass as ``before`` for newer ones
    older: int | None  # the referral to pass as ``after`` for older ones


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
    total = capped_count(session, query)
    found = page(
        session,
        query.options(joinedload(Referral.service), joinedload(Referral.council_area)),
        sort=Referral.made_at,
        ident=Referral.id,
        after=None if search.person_ref else search.after,
        before=None if search.person_ref else search.before,
        per_page=PERSON_LIMIT if search.person_ref else PER_PAGE,
    )
    return ReferralPage(found.rows, total, found.newer, found.older)
