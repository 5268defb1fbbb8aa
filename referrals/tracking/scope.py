"""Who sees which referrals (DESIGN.md section 2), as query conditions, so that records
outside a user's scope are never loaded at all.

Custody staff see their suite's referrals (a custody system, those of its suites);
providers see referrals to their organisation's services; administrators see all;
area leads and anyone else see none.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session, joinedload

from ..choices import Role
from ..models import Referral, ReferralEvent, Service, User


def suites_scope(suite_ids: Iterable[int | None]) -> sa.ColumnElement[bool]:
    """Referrals made in any of these custody suites."""
    ids = sorted({i for i in suite_ids if i is not None})
    return Referral.custody_suite_id.in_(ids) if ids else sa.false()


def organisation_scope(organisation_id: int | None) -> sa.ColumnElement[bool]:
    """Referrals to any service of this organisation."""
    if organisation_id is None:
        return sa.false()
    return Referral.service_id.in_(
        sa.select(Service.id).where(Service.organisation_id == organisation_id)
    )


def in_scope(user: User) -> sa.ColumnElement[bool]:
    """The condition a referral must meet to be visible to ``user``."""
    if user.role == Role.ADMIN:
        return sa.true()
    if user.role == Role.CUSTODY:
        return suites_scope([user.custody_suite_id])
    if user.role == Role.PROVIDER:
        return organisation_scope(user.organisation_id)
    return sa.false()  # area leads and anyone else: no person-level records


def scope_key(user: User) -> tuple:
    """Everything ``in_scope`` reads of ``user``: users with the same key see the same
    referrals, so a statement built for one serves them all."""
    return (user.role, user.organisation_id, user.custody_suite_id)


def find_referral(session: Session, *conditions: sa.ColumnElement[bool]) -> Referral | None:
    """The one referral meeting ``conditions`` (which include a scope), with what its
    page and its API record show loaded, in one statement; None when there is none."""
    return (
        session.scalars(
            sa.select(Referral)
            .where(*conditions)
            .options(
                joinedload(Referral.events).joinedload(ReferralEvent.user),
                joinedload(Referral.service).joinedload(Service.organisation),
                joinedload(Referral.custody_suite),
                joinedload(Referral.referrer),
                joinedload(Referral.council_area),
            )
        )
        .unique()
        .first()
    )


def referral_for(session: Session, user: User, referral_id: int) -> Referral:
    """The referral if ``user`` may see it; otherwise 404, exactly as if it did not exist."""
    referral = find_referral(session, Referral.id == referral_id, in_scope(user))
    if referral is None:
        abort(404)
    return referral


def reference_in_scope(session: Session, user: User, referral_id: int | None) -> str | None:
    """The reference of referral ``referral_id`` if ``user`` may see that referral;
    otherwise None, as if there were none (a page naming another referral, such as the
    one a referral may duplicate, names it only to those who may open it)."""
    if referral_id is None:
        return None
    return session.scalar(
        sa.select(Referral.reference).where(Referral.id == referral_id, in_scope(user))
    )


def scope_shape(user: User) -> tuple[str, dict]:
    """``in_scope`` for providers and administrators (the people who work referrals),
    as a shape ("all", "organisation" or "none") and the parameters ``scope_clause``
    takes: for statements built once and run with parameters."""
    if user.role == Role.ADMIN:
        return "all", {}
    if user.role == Role.PROVIDER and user.organisation_id is not None:
        return "organisation", {"organisation_id": user.organisation_id}
    return "none", {}


def scope_clause(shape: str) -> sa.ColumnElement[bool]:
    """The condition of a ``scope_shape``, with the organisation as the parameter
    ``organisation_id``.

    The organisation's services are found first, on their own (a materialised CTE, once
    however many times the statement names the scope): given them as a subquery,
    PostgreSQL may walk every attended referral in the country along their
    ``service_id`` and merge them with the services (100 ms for an organisation of 576
    services, against 10 ms looking up each service's referrals)."""
    if shape == "all":
        return sa.true()
    if shape == "organisation":
        organisation_id = sa.bindparam("organisation_id", type_=sa.Integer)
        services = (
            sa.select(Service.id)
            .where(Service.organisation_id == organisation_id)
            .cte("scope_services")
            .prefix_with("MATERIALIZED")
        )
        return Referral.service_id.in_(sa.select(services.c.id))
    return sa.false()
