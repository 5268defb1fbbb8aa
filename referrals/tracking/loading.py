"""Loading one referral, within the user's scope (``scope.py``), for its page and for a
change to it: each in one statement, reading only what that use needs.

The page shows the names of the service, its organisation, the custody suite, the
referrer and the people who changed the referral, never the rest of their rows (a
user's row holds an encrypted sign-in secret that would be decrypted for nothing). A
change reads the referral's own row without its encrypted personal details, which the
lifecycle never looks at, and whether any system listens for status changes (which the
change's flush would otherwise ask apart); its events are read only if the change needs
them (reopening, and a change that ends the referral, which cannot be dated before it
was last reopened).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import Session, defer, joinedload

from ..models import (
    CouncilArea,
    CustodySuite,
    Organisation,
    Referral,
    ReferralEvent,
    Service,
    User,
)
from ..webhooks.events import listening_column, remember
from .scope import in_scope, scope_key

# The referral's encrypted columns: shown on its page, never needed to change its status.
PERSONAL_COLUMNS = (
    Referral.person_ref,
    Referral.notes,
    Referral.contact_name,
    Referral.contact_phone,
)


_built: dict[tuple, sa.Select] = {}


@functools.cache
def _bases() -> dict[str, sa.Select]:
    """The two statements without a scope, built once (after every model is mapped)."""
    return {
        "page": sa.select(Referral).options(
            joinedload(Referral.events).joinedload(ReferralEvent.user).load_only(User.name),
            joinedload(Referral.service)
            .load_only(Service.name)
            .joinedload(Service.organisation)
            .load_only(Organisation.name),
            joinedload(Referral.custody_suite).load_only(CustodySuite.name),
            joinedload(Referral.referrer).load_only(User.name),
            joinedload(Referral.council_area).load_only(CouncilArea.name),
        ),
        # With whether any system listens for status changes, for the change's flush
        # (``webhooks.events.remember``): one statement fewer than asking apart.
        "change": sa.select(listening_column(), Referral).options(
            *(defer(c) for c in PERSONAL_COLUMNS)
        ),
    }


def _in_scope(use: str, user: User) -> sa.Select:
    """The statement for ``use`` limited to ``user``'s scope, with the referral's id left
    as a parameter; built once per scope (role, organisation, custody suite), since
    building and keying a statement with this many loader options costs more than
    running it."""
    key = (use, *scope_key(user))
    statement = _built.get(key)
    if statement is None:
        if len(_built) > 2000:  # more scopes than a service has: start again
            _built.clear()
        one = Referral.id == sa.bindparam("referral_id")
        statement = _built[key] = _bases()[use].where(one, in_scope(user))
    return statement


def referral_page_for(session: Session, user: User, referral_id: int) -> Referral:
    """The referral with what its page shows, if ``user`` may see it; otherwise 404,
    exactly as if it did not exist."""
    statement = _in_scope("page", user)
    referral = session.scalars(statement, {"referral_id": referral_id}).unique().first()
    if referral is None:
        abort(404)
    return referral


def referral_to_change(session: Session, user: User, referral_id: int) -> Referral:
    """The referral's own row for a status change, if ``user`` may see it; otherwise 404.
    Whether any system listens for status changes is read with it and kept for the
    change's flush, in the same transaction."""
    statement = _in_scope("change", user)
    row = session.execute(statement, {"referral_id": referral_id}).first()
    if row is None:
        abort(404)
    listening, referral = row
    remember(session, listening)
    return referral


def passed_on_from(session: Session, user: User, referral_id: int) -> list[sa.Row]:
    """The referrals this one was passed on to that ``user`` may see: id, reference and
    the service's name, oldest first."""
    return session.execute(
        sa.select(Referral.id, Referral.reference, Service.name.label("service_name"))
        .join(Service, Service.id == Referral.service_id)
        .where(Referral.referred_from_id == referral_id, in_scope(user))
        .order_by(Referral.id)
    ).all()
