"""A subject-access export: everything held about one person's referrals, found by
their custody record number (through its keyed hash, so the search never decrypts
every row). Staff are named by role and organisation or custody suite only: the export
is the person's data, not their colleagues'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import Need, Substance
from ..encryption import keyring, normalise_person_ref
from ..models import Referral, ReferralEvent, Service, User


def referrals_of(session: Session, person_ref: str) -> list[Referral]:
    """The referrals recorded under ``person_ref`` (spaces and case ignored)."""
    if not normalise_person_ref(person_ref):
        return []
    return list(
        session.scalars(
            sa.select(Referral)
            .where(Referral.person_ref_hash.in_(keyring().search_hashes(person_ref)))
            .options(
                selectinload(Referral.events).selectinload(ReferralEvent.user),
                selectinload(Referral.service).selectinload(Service.organisation),
                selectinload(Referral.custody_suite),
                selectinload(Referral.council_area),
            )
            .order_by(Referral.made_at, Referral.id)
        )
    )


def _labels(codes: str, choice) -> list[str]:
    known = {m.value: m.label for m in choice}
    return [known.get(c, c) for c in (codes or "").split(",") if c]


def _label(value) -> str | None:
    return None if value is None else getattr(value, "label", str(value))


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _staff(user: User | None) -> str | None:
    if user is None:
        return None
    where = user.organisation.name if user.organisation else None
    where = where or (user.custody_suite.name if user.custody_suite else None)
    return f"{user.role.label}, {where}" if where else user.role.label


def referral_record(referral: Referral) -> dict[str, Any]:
    return {
        "reference": referral.reference,
        "made_at": referral.made_at.isoformat(),
        "custody_suite": referral.custody_suite.name,
        "pathway": _label(referral.pathway),
        "service": referral.service.name,
        "organisation": referral.service.organisation.name,
        "custody_record_number": referral.person_ref,
        "age_band": _label(referral.age_band),
        "sex": _label(referral.sex),
        "postcode_district": referral.postcode_district,
        "council_area_of_residence": referral.council_area.name,
        "consent_recorded": referral.consent_recorded,
        "consent_date": _date(referral.consent_date),
        "substances": _labels(referral.substances, Substance),
        "needs": _labels(referral.needs, Need),
        "naloxone_offered": referral.naloxone_offered,
        "naloxone_supplied": referral.naloxone_supplied,
        "children_in_household": referral.children_in_household,
        "same_day_urgent": referral.same_day_urgent,
        "contact_method": _label(referral.contact_method),
        "contact_name": referral.contact_name,
        "contact_phone": referral.contact_phone,
        "notes": referral.notes,
        "status": _label(referral.status),
        "accepted_on": _date(referral.accepted_on),
        "declined_on": _date(referral.declined_on),
        "declined_by": _label(referral.declined_by),
        "decline_reason": _label(referral.decline_reason),
        "first_attendance_on": _date(referral.engaged_on),
        "treatment_started_on": _date(referral.treatment_started_on),
        "closed_on": _date(referral.closed_on),
        "close_reason": _label(referral.close_reason),
        "personal_data_erased_at": (
            referral.personal_data_erased_at.isoformat()
            if referral.personal_data_erased_at
            else None
        ),
        "history": [
            {
                "date": _date(event.event_date),
                "recorded_at": event.at.isoformat(),
                "from": _label(event.from_status),
                "to": _label(event.to_status),
                "reason": event.reason,
                "note": event.note,
                "recorded_by": _staff(event.user),
            }
            for event in referral.events
        ],
    }


def export(referrals: list[Referral], now: dt.datetime) -> dict[str, Any]:
    return {
        "exported_at": now.isoformat(),
        "what": "Every referral recorded under one custody record number, with its history.",
        "referrals": [referral_record(r) for r in referrals],
    }
