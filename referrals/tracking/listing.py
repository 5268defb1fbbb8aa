"""The referral list: the referrals in a user's scope that match a search, newest first,
a page at a time by keyset (``keyset.py``) along the ``(custody_suite_id, made_at, id)``
index for custody staff and ``(made_at, id)`` for everyone else. A custody record number
is matched through its keyed hash (the numbers themselves are encrypted), ignoring spaces
and case; a search for one person is never paged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ReferralStatus, Role
from ..encryption import keyring
from ..keyset import capped_count, capped_count_query, first_page_statement, page
from ..models import CustodySuite, Organisation, Referral, Service, User
from .scope import in_scope, scope_key

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
        """The filters for page links: everything but a custody record number (nor a
        reference read from what was typed as one)."""
        args = {
            "reference": None if self.person_ref else self.reference,
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


@dataclass(frozen=True, slots=True)
class ListedReferral:
    """What the list shows of one referral: read as plain columns, and of the
    encrypted ones only the custody record number is decrypted."""

    id: int
    reference: str
    made_at: dt.datetime
    person_ref: str | None  # None once erased
    service_name: str
    status: ReferralStatus
    overdue: bool  # still unanswered after the working days a service has to respond


@dataclass
class ReferralPage:
    referrals: list[ListedReferral]
    total: int  # how many match, counted up to ``keyset.COUNT_CAP`` and one more
    newer: int | None  # the referral to pass as ``before`` for newer ones
    older: int | None  # the referral to pass as ``after`` for older ones
    # The name of the user's custody suite (custody staff) or organisation (providers),
    # which the page's heading gives, when read with the rows; None on an empty page.
    scope_name: str | None = None


def list_referrals(
    session: Session, user: User, search: ReferralSearch, overdue_before: dt.date
) -> ReferralPage:
    """One page of the referrals ``search`` finds in ``user``'s scope, and how many
    match: one statement (the count is a column of the page's; a second statement
    counts only when the page is empty)."""
    unfiltered = replace(search, after=None, before=None) == ReferralSearch()
    if unfiltered:
        query, matching, first_page = _unfiltered(user)
    else:
        query, matching = _statements(user, [in_scope(user), *_matching(search, overdue_before)])
        first_page = None
    found = page(
        session,
        query,
        sort=Referral.made_at,
        ident=Referral.id,
        after=None if search.person_ref else search.after,
        before=None if search.person_ref else search.before,
        per_page=PERSON_LIMIT if search.person_ref else PER_PAGE,
        first_page=first_page,
        pivot_scope=in_scope(user),
    )
    total = found.rows[0].total if found.rows else capped_count(session, matching)
    scope_name = found.rows[0].scope_name if found.rows else None
    rows = [
        ListedReferral(
            row.id,
            row.reference,
            row.made_at,
            row.person_ref,
            row.service_name,
            row.status,
            row.status == ReferralStatus.MADE and row.referred_on < overdue_before,
        )
        for row in found.rows
    ]
    return ReferralPage(rows, total, found.newer, found.older, scope_name)


def _scope_name(user: User) -> sa.ScalarSelect | sa.Null:
    """The name of what bounds ``user``'s list (their custody suite or organisation), as
    a column of the list's statement: the page's heading gives it, and reading it with
    the rows saves loading the suite or organisation apart."""
    if user.role == Role.CUSTODY and user.custody_suite_id is not None:
        found = sa.select(CustodySuite.name).where(CustodySuite.id == user.custody_suite_id)
    elif user.role == Role.PROVIDER and user.organisation_id is not None:
        found = sa.select(Organisation.name).where(Organisation.id == user.organisation_id)
    else:
        return sa.null()
    return found.scalar_subquery()


def _statements(
    user: User, conditions: list[sa.ColumnElement[bool]]
) -> tuple[sa.Select, sa.Select]:
    """The list's rows meeting ``conditions`` with how many match and the name of what
    bounds ``user``'s list as columns, and the ids alone (to count apart when the page is
    empty)."""
    matching = sa.select(Referral.id).where(*conditions)
    query = (
        sa.select(
            Referral.id,
            Referral.reference,
            Referral.made_at,
            Referral.person_ref,
            Service.name.label("service_name"),
            Referral.status,
            Referral.referred_on,
            capped_count_query(matching).scalar_subquery().label("total"),
            _scope_name(user).label("scope_name"),
        )
        .join_from(Referral, Service, Service.id == Referral.service_id)
        .where(*conditions)
    )
    return query, matching


# The unfiltered list's statements for each scope (role, organisation, custody suite).
_unfiltered_built: dict[tuple, tuple[sa.Select, sa.Select, sa.Select]] = {}


def _unfiltered(user: User) -> tuple[sa.Select, sa.Select, sa.Select]:
    """The statements of the list without filters in ``user``'s scope: its rows, its ids
    and its first page. Most visits are to that list, and building and keying its
    statements cost more than running them, so they are built once per scope; they hold
    nothing but the scope, which never changes for a scope's key."""
    key = scope_key(user)
    built = _unfiltered_built.get(key)
    if built is None:
        if len(_unfiltered_built) > 2000:  # more scopes than a service has: start again
            _unfiltered_built.clear()
        query, matching = _statements(user, [in_scope(user)])
        first_page = first_page_statement(
            query, sort=Referral.made_at, ident=Referral.id, per_page=PER_PAGE
        )
        built = _unfiltered_built[key] = (query, matching, first_page)
    return built


def _matching(search: ReferralSearch, overdue_before: dt.date) -> list[sa.ColumnElement[bool]]:
    """The search's conditions."""
    hashes = keyring().search_hashes(search.person_ref) if search.person_ref else None
    conditions = []
    if search.reference and search.person_ref:
        conditions.append(
            sa.or_(Referral.reference == search.reference, Referral.person_ref_hash.in_(hashes))
        )
    elif search.reference:
        conditions.append(Referral.reference == search.reference)
    elif search.person_ref:
        conditions.append(Referral.person_ref_hash.in_(hashes))
    if search.date_from:
        conditions.append(Referral.referred_on >= search.date_from)
    if search.date_to:
        conditions.append(Referral.referred_on <= search.date_to)
    if search.status:
        conditions.append(Referral.status == search.status)
    if search.overdue:
        conditions.append(Referral.status == ReferralStatus.MADE)
        conditions.append(Referral.referred_on < overdue_before)
    return conditions
