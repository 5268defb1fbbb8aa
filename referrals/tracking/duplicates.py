"""No duplicate referrals.

- Each blank referral form carries a one-time token, saved with the referral it makes
  (the column is unique). A second submit of the same form, a double click or ten
  parallel posts, finds that referral instead of making another. It is the same form
  only for the same person and service (``same_referral``): a form brought back with
  the browser's Back button and filled in for someone else is a new referral.
- A referral for the same custody record number (found by its keyed search hash, as the
  number itself is stored encrypted) to the same service within 28 days
  (not counting one entered in error) from the same custody suite is made only when the
  referrer confirms it is a new one. One from another suite is made without a question:
  that suite's referral is not the referrer's to see or be told of. Either way the new
  referral is flagged on the service's worklist as a possible duplicate, and only people
  who may open the earlier referral see which one it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import CloseReason
from ..encryption import keyring
from ..models import Referral

DUPLICATE_WINDOW_DAYS = 28


def made_with_token(session: Session, token: str | None, custody_suite_id: int) -> Referral | None:
    """The referral the form with ``token`` already made for this suite, if any."""
    if not token:
        return None
    return session.scalar(
        sa.select(Referral).where(
            Referral.form_token == token, Referral.custody_suite_id == custody_suite_id
        )
    )


class EarlierReferral(Protocol):
    """What a submit needs of an earlier referral (``earlier_referrals``): a plain row
    with its id and uuid (to answer with it), and what the question about a possible
    duplicate names (its reference, custody record number and date) and whether the
    referrer may see it (its suite)."""

    id: int
    uuid: uuid.UUID
    reference: str
    person_ref: str | None
    person_ref_hash: str | None
    service_id: int
    referred_on: dt.date
    custody_suite_id: int


def same_referral(earlier: EarlierReferral, person_ref: str, service_id: object) -> bool:
    """Whether ``earlier`` (the referral a form's token made) is for this custody record
    number and service: the same form sent again, not one filled in again for another."""
    return (
        str(earlier.service_id) == str(service_id)
        and bool(person_ref)
        and earlier.person_ref_hash in keyring().search_hashes(person_ref)
    )


def earlier_referrals(
    session: Session,
    token: str | None,
    custody_suite_id: int,
    person_ref: str,
    service_id: int,
    today: dt.date,
) -> tuple[EarlierReferral | None, list[EarlierReferral]]:
    """Both checks of a submit in one statement: the referral this form already made in
    this suite (``made_with_token``), and otherwise the referrals of the same person to
    the same service in the last 28 days, latest first."""
    params = {
        "hashes": keyring().search_hashes(person_ref),
        "service_id": service_id,
        "since": today - dt.timedelta(days=DUPLICATE_WINDOW_DAYS),
    }
    if token:
        params |= {"token": token, "custody_suite_id": custody_suite_id}
    # Plain rows, read through the connection: none of the ORM's work on results.
    rows = session.connection().execute(_earlier_statement(bool(token)), params).all()
    already = next((row for row in rows if row.by_token), None)
    if already is not None:
        return already, []
    return None, list(rows)


@functools.cache
def _earlier_statement(with_token: bool) -> sa.Select:
    """``earlier_referrals``' statement, built once per process (with the form's token
    or without), run with the parameters ``hashes``, ``service_id``, ``since`` and
    ``token`` and ``custody_suite_id``: building it costs more than running it."""
    by_token = (
        sa.and_(
            Referral.form_token == sa.bindparam("token"),
            Referral.custody_suite_id == sa.bindparam("custody_suite_id"),
        )
        if with_token
        else sa.false()
    )
    duplicate = sa.and_(
        Referral.person_ref_hash.in_(sa.bindparam("hashes", expanding=True)),
        Referral.service_id == sa.bindparam("service_id"),
        Referral.referred_on >= sa.bindparam("since", type_=sa.Date),
        sa.or_(
            Referral.close_reason.is_(None),
            Referral.close_reason != CloseReason.ENTERED_IN_ERROR,
        ),
    )
    return (
        sa.select(
            Referral.id,
            Referral.uuid,
            Referral.reference,
            Referral.person_ref,
            Referral.person_ref_hash,
            Referral.service_id,
            Referral.referred_on,
            Referral.custody_suite_id,
            by_token.label("by_token"),
        )
        .where(sa.or_(by_token, duplicate))
        .order_by(Referral.referred_on.desc(), Referral.id.desc())
    )
