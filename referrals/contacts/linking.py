"""Contacts and the referrals that come from them.

Every referral made from custody comes from a contact whose outcome is "referral made":

- recorded first (one contact, or a row of a batch), the contact waits for its referral,
  and the referral form starts from it (``/referrals/new?contact=<id>``), prefilled with
  what it holds; saving the referral links the two; a referral closed as entered in error
  gives its contact back, to wait for the right one, which takes it over (or, if the
  person declined after all, the contact is given that outcome and lets the referral
  go, remembering it in ``released_from_id``: see ``release``);
- a referral made straight from the directory records its contact as it is saved, from
  the referral's own answers, so the contacts stay the whole denominator.

Either way the referral is the fuller, later record: on linking, the contact takes the
referral's age band, sex, district and council, and its naloxone status is made to agree
with the referral's two naloxone boxes.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import AgeBand, CloseReason, Sex
from ..models import CouncilArea, CustodySuite, Referral, User, utcnow
from ..postcodes import FILLED_FOR_NO_FIXED_ABODE
from .choices import NALOXONE_FLAGS, ContactOutcome, naloxone_status
from .models import CustodyContact

AWAITING_DAYS = 31  # contacts waiting for their referral longer than this are not offered


class AwaitingContact(Protocol):
    """A contact awaiting its referral as ``awaiting_referral`` reads it: a plain row with
    what the list of them shows, its council's and suite's names beside it."""

    id: int
    contact_on: dt.date
    age_band: AgeBand
    sex: Sex
    postcode_district: str | None
    council_name: str
    suite_name: str


def awaiting_referral(
    session: Session, suite_id: int | None, today: dt.date, limit: int = 50
) -> list[AwaitingContact]:
    """A suite's contacts recorded as "referral made" whose referral is not saved yet,
    oldest first (every suite's when ``suite_id`` is None): plain rows, read through the
    connection, since the pages that list them only show them."""
    params = awaiting_params(suite_id, today) | {"limit": limit}
    statement = _awaiting_statement(suite_id is not None)
    return session.connection().execute(statement, params).all()


def awaiting_params(suite_id: int | None, today: dt.date) -> dict:
    """The parameters of ``awaiting_condition`` for a suite (or every suite) today."""
    params = {"awaiting_since": today - dt.timedelta(days=AWAITING_DAYS)}
    if suite_id is not None:
        params["awaiting_suite_id"] = suite_id
    return params


def awaiting_condition(one_suite: bool) -> sa.ColumnElement[bool]:
    """Which contacts await their referral (see ``awaiting_referral``), with the
    parameters ``awaiting_params`` gives: for statements built once per process."""
    in_error = sa.exists().where(
        Referral.id == CustodyContact.referral_id,
        Referral.close_reason == CloseReason.ENTERED_IN_ERROR,
    )
    condition = sa.and_(
        CustodyContact.outcome == ContactOutcome.REFERRAL_MADE,
        sa.or_(CustodyContact.referral_id.is_(None), in_error),
        CustodyContact.contact_on >= sa.bindparam("awaiting_since", type_=sa.Date),
    )
    if one_suite:
        condition = sa.and_(
            condition,
            CustodyContact.custody_suite_id == sa.bindparam("awaiting_suite_id"),
        )
    return condition


@functools.cache
def _awaiting_statement(one_suite: bool) -> sa.Select:
    """``awaiting_referral``'s statement, built once per process (for one suite or all),
    run with ``awaiting_params`` and ``limit``: the form that offers these contacts is
    shown often, and building and keying a statement costs more than running it."""
    return (
        sa.select(
            CustodyContact.id,
            CustodyContact.contact_on,
            CustodyContact.age_band,
            CustodyContact.sex,
            CustodyContact.postcode_district,
            CouncilArea.name.label("council_name"),
            CustodySuite.name.label("suite_name"),
        )
        .join(CouncilArea, CouncilArea.id == CustodyContact.council_area_id)
        .join(CustodySuite, CustodySuite.id == CustodyContact.custody_suite_id)
        .where(awaiting_condition(one_suite))
        .order_by(CustodyContact.contact_on, CustodyContact.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
    )


def contact_awaiting(session: Session, user: User, contact_id: int | None):
    """The contact ``user`` may make a referral for, or ``(None, why not)``."""
    contact = session.get(CustodyContact, contact_id) if contact_id else None
    if contact is None or contact.custody_suite_id != user.custody_suite_id:
        return None, "That contact was not found, so this referral will be counted as a new one."
    if contact.outcome != ContactOutcome.REFERRAL_MADE:
        return None, (
            f"That contact's outcome is “{contact.outcome.label.lower()}”, so this referral "
            "will be counted as a new contact."
        )
    if not contact.awaiting_referral:
        return None, (
            f"That contact already led to referral {contact.referral.reference}, so this "
            "referral will be counted as a new contact."
        )
    return contact, None


def prefill(contact: CustodyContact) -> dict:
    """What the referral form can take from the contact."""
    offered, supplied = NALOXONE_FLAGS[contact.naloxone]
    return {
        "age_band": contact.age_band.value,
        "sex": contact.sex.value,
        "postcode_district": contact.postcode_district or "",
        "no_fixed_abode": contact.postcode_district is None,
        "council_area_id": str(contact.council_area_id),
        # Filled in, not chosen: a district corrected on the form brings its own council.
        "council_filled_for": contact.postcode_district
        or f"{FILLED_FOR_NO_FIXED_ABODE}{contact.council_area_id}",
        "naloxone_offered": offered,
        "naloxone_supplied": supplied,
        "pathway": "arrest_referral",
    }


def link(session: Session, contact: CustodyContact, referral: Referral, user: User) -> dict:
    """Link ``contact`` to the new ``referral``, taking the referral's answers (from a
    referral closed as entered in error, it moves to the one made in its place). Returns
    the audit entry for the caller to write with the referral's own
    (``audit.record_together``)."""
    previous = contact.referral  # closed as entered in error, if the contact had one
    if previous is None and contact.released_from_id is not None:
        previous = session.get(Referral, contact.released_from_id)
    if previous is not None:
        previous.contact_moved_to_id = referral.id
    contact.released_from_id = None
    contact.referral = referral
    contact.age_band = referral.age_band
    contact.sex = referral.sex
    contact.postcode_district = referral.postcode_district
    contact.council_area_id = referral.council_area_id
    contact.naloxone = naloxone_status(
        referral.naloxone_offered, referral.naloxone_supplied, contact.naloxone
    )
    return {
        "action": "contact_linked",
        "obj": contact,
        "user": user,
        "detail": {"referral_id": referral.id, "reference": referral.reference},
    }


def take_contact_back(session: Session, referral: Referral) -> str | None:
    """Before ``referral``'s closing as entered in error is taken back (undone or
    reopened): the custody contact that went from it to the referral made in its place
    comes back to it, if that referral (or the one after it, along the chain) is itself
    closed as entered in error. If the contact's referral counts, nothing changes and
    the answer says why: both referrals counting would count the person twice; so too
    if the contact was given another outcome meanwhile (``release``). None when the
    contact is back, or never left."""
    holder, seen = None, {referral.id}
    moved_to = referral.contact_moved_to_id
    while moved_to is not None and moved_to not in seen:
        seen.add(moved_to)
        holder = session.get(Referral, moved_to)
        moved_to = holder.contact_moved_to_id if holder is not None else None
    if holder is None:
        return _take_back_released(session, referral, referral)
    contact = session.scalar(
        sa.select(CustodyContact).where(CustodyContact.referral_id == holder.id)
    )
    if contact is None:  # let go by the referral it went to (``release``), if anywhere
        return _take_back_released(session, holder, referral)
    if holder.close_reason != CloseReason.ENTERED_IN_ERROR:
        return (
            f"The custody contact this referral came from now belongs to referral "
            f"{holder.reference}, made in its place. Close {holder.reference} as entered in "
            "error first (custody staff can, until the service responds; otherwise ask an "
            "administrator), so that the person is not counted twice."
        )
    contact.referral = referral
    holder.contact_moved_to_id = referral.id
    referral.contact_moved_to_id = None
    return None


def release(contact: CustodyContact) -> int | None:
    """A contact whose referral was closed as entered in error, now given another
    outcome than "referral made" (the person declined after all, say), lets that
    referral go and remembers it (``released_from_id``): the outcome counts as given,
    and taking the closing back finds the contact again. The id of the referral let go,
    or None."""
    if contact.referral_id is None or contact.outcome == ContactOutcome.REFERRAL_MADE:
        return None
    held = contact.referral
    released = contact.released_from_id = contact.referral_id
    contact.referral = None
    # Saved against the referral's version too: an undo or reopening of its closing at
    # the same moment makes one of the two fail (the referral changed meanwhile), not
    # both succeed, which would count the referral with no contact.
    held.updated_at = utcnow()
    return released


def tied_referral(session: Session, contact: CustodyContact) -> Referral | None:
    """The referral ``contact`` is tied to: its own (counting, or closed as entered in
    error with the contact waiting for the right one), or the one it let go
    (``release``), which taking back that closing gives the contact again. None for a
    contact that never had one."""
    if contact.referral_id is not None:
        return contact.referral
    if contact.released_from_id is not None:
        return session.get(Referral, contact.released_from_id)
    return None


def _take_back_released(session: Session, held_by: Referral, referral: Referral) -> str | None:
    """``take_contact_back`` where the contact was given another outcome after
    ``held_by`` (``referral`` itself, or the last referral made in its place) was closed
    as entered in error (``release``): back to "referral made" and waiting, the contact
    comes back to ``referral``; otherwise the closing stays, and the answer says why.
    None when no contact was let go from ``held_by`` (the referral never had one)."""
    contact = session.scalar(
        sa.select(CustodyContact).where(CustodyContact.released_from_id == held_by.id)
    )
    if contact is None:
        return None
    if contact.outcome == ContactOutcome.REFERRAL_MADE and contact.referral_id is None:
        contact.released_from_id = None
        contact.referral = referral
        if held_by is not referral:
            held_by.contact_moved_to_id = referral.id
            referral.contact_moved_to_id = None
        return None
    return (
        "The custody contact this referral came from was changed to "
        f"“{contact.outcome.label.lower()}” after the referral was closed as entered in "
        "error. Change the contact back to “referral made” first (from the contact's "
        "page), so that the person is counted once and as they were."
    )


def contact_for_new_referral(session: Session, referral: Referral, user: User) -> dict:
    """Record the contact a referral made without one comes from, once the referral is
    flushed (so that it has its id): one plain insert, since nothing reads the contact
    back while the referral is saved. Returns the audit entry for the caller to write
    with the referral's own (``audit.record_together``)."""
    contact_id = (
        session.connection()
        .execute(
            _contact_insert(),
            {
                "custody_suite_id": referral.custody_suite_id,
                "contact_on": referral.referred_on,
                "recorded_at": referral.made_at,
                "recorded_by_id": user.id,
                "age_band": referral.age_band,
                "sex": referral.sex,
                "postcode_district": referral.postcode_district,
                "council_area_id": referral.council_area_id,
                "offered": True,
                "outcome": ContactOutcome.REFERRAL_MADE,
                "naloxone": naloxone_status(referral.naloxone_offered, referral.naloxone_supplied),
                "veteran": None,
                "referral_id": referral.id,
            },
        )
        .scalar_one()
    )
    return {
        "action": "contact_recorded",
        "object_type": CustodyContact.__tablename__,
        "object_id": contact_id,
        "user": user,
        "detail": {
            "referral_id": referral.id,
            "reference": referral.reference,
            "from": "referral",
        },
    }


@functools.cache
def _contact_insert() -> sa.Insert:
    """``contact_for_new_referral``'s insert, built once per process (every referral
    made straight from the directory runs it); the columns' defaults fill the rest, as
    for an object."""
    return sa.insert(CustodyContact).returning(CustodyContact.id)
