"""The rows a new referral is made of: the referral as the form describes it, with a
fresh random reference, and its first event ("made"). Nothing here reads or writes the
database except ``free_reference`` and ``reference_taken``; ``making.py`` saves.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ContactMethod, ReferralStatus
from ..clock import now_local, now_utc
from ..models import Referral, ReferralEvent
from ..references import new_reference
from .forms import ReferralForm

REFERENCE_ATTEMPTS = 5


def reference_taken(session: Session, reference: str) -> bool:
    return (
        session.scalar(sa.select(Referral.id).where(Referral.reference == reference)) is not None
    )


def free_reference(session: Session) -> str:
    """A random reference not already taken. (No savepoint is used: on SQLite, releasing
    one would commit the referral before its first event and audit record.)"""
    for _attempt in range(REFERENCE_ATTEMPTS):
        reference = new_reference()
        if not reference_taken(session, reference):
            return reference
    raise RuntimeError("could not draw a free referral reference")  # pragma: no cover


def new_referral(
    form: ReferralForm,
    *,
    suite_id: int,
    user_id: int,
    service_id: int,
    duplicate_id: int | None,
) -> Referral:
    """The referral the checked ``form`` describes (its first event is ``first_event``,
    written once the referral has its id)."""
    now = now_utc()
    supplied = bool(form.naloxone_supplied.data)
    self_present = form.contact_method.data == ContactMethod.SELF_PRESENT
    return Referral(
        reference=new_reference(),
        made_at=now,
        referred_on=now_local().date(),
        custody_suite_id=suite_id,
        referrer_id=user_id,
        pathway=form.pathway.data,
        service_id=service_id,
        person_ref=form.person_ref.data.strip(),
        age_band=form.age_band.data,
        sex=form.sex.data,
        postcode_district=form.postcode_district.data or None,
        council_area_id=int(form.council_area_id.data),
        consent_recorded=True,
        consent_date=form.consent_date.data,
        # Each once, whatever a crafted post repeats (the column holds every choice once).
        substances=",".join(dict.fromkeys(form.substances.data or [])),
        needs=",".join(dict.fromkeys(form.needs.data or [])),
        naloxone_offered=bool(form.naloxone_offered.data) or supplied,
        naloxone_supplied=supplied,
        children_in_household=bool(form.children_in_household.data),
        same_day_urgent=bool(form.same_day_urgent.data),
        notes=(form.notes.data or "").strip() or None,
        contact_name=None if self_present else (form.contact_name.data or "").strip() or None,
        contact_phone=None if self_present else (form.contact_phone.data or "").strip() or None,
        contact_method=form.contact_method.data,
        form_token=form.form_token.data or None,
        possible_duplicate_of_id=duplicate_id,
    )


def first_event(referral: Referral, user_id: int) -> dict:
    """The new (flushed) ``referral``'s first event, "made", as the values of a row for
    ``first_event_insert``: a plain row, since nothing reads it back while the referral
    is saved (``webhooks.events.new_referral_made`` tells the systems listening)."""
    return {
        "referral_id": referral.id,
        "user_id": user_id,
        "from_status": None,
        "to_status": ReferralStatus.MADE,
        "event_date": referral.referred_on,
        "at": referral.made_at,
    }


@functools.cache
def first_event_insert() -> sa.Insert:
    """The insert of ``first_event``'s row, built once per process."""
    return sa.insert(ReferralEvent)
