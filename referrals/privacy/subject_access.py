"""A subject-access export: everything held about one person's referrals, found by
their custody record number (through its keyed hash, so the search never decrypts
every row): each referral with its history, the outcomes after treatment started, the
service's attempts to reach the person, the custody staff's updates, and the custody
contact it came from. Staff are named by role and organisation or custody suite only:
the export is the person's data, not their colleagues'.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..choices import Need, Substance
from ..contacts.models import CustodyContact
from ..encryption import keyring, normalise_person_ref
from ..models import Referral, ReferralEvent, Service, User
from ..tracking.models import ContactAttempt, ReferralUpdate


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


def _contact_record(contact: CustodyContact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {
        "seen_on": _date(contact.contact_on),
        "custody_suite": contact.custody_suite.name,
        "age_band": _label(contact.age_band),
        "sex": _label(contact.sex),
        "postcode_district": contact.postcode_district,
        "council_area_of_residence": contact.council_area.name,
        "offered_a_referral": contact.offered,
        "outcome": _label(contact.outcome),
        "decline_reason": _label(contact.decline_reason),
        "not_suitable_reason": _label(contact.not_suitable_reason),
        "naloxone": _label(contact.naloxone),
        "veteran": contact.veteran,
        "recorded_by": _staff(contact.recorded_by),
        # The referral was entered in error and the contact then given another outcome.
        "released_from_the_referral": contact.referral_id is None,
    }


class FollowUps:
    """What else is held about the referrals ``ids``: the service's contact attempts,
    the custody staff's updates and the custody contact each came from, read once for
    them all."""

    def __init__(self, session: Session, ids: list[int]):
        self.attempts: dict[int, list[dict]] = defaultdict(list)
        self.updates: dict[int, list[dict]] = defaultdict(list)
        for attempt in session.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.referral_id.in_(ids))
            .order_by(ContactAttempt.attempted_on, ContactAttempt.id)
        ):
            self.attempts[attempt.referral_id].append(
                {
                    "attempted_on": _date(attempt.attempted_on),
                    "method": _label(attempt.method),
                    "outcome": _label(attempt.outcome),
                    "note": attempt.note,
                    "recorded_by": _staff(attempt.user),
                }
            )
        for update in session.scalars(
            sa.select(ReferralUpdate)
            .where(ReferralUpdate.referral_id.in_(ids))
            .order_by(ReferralUpdate.at, ReferralUpdate.id)
        ):
            self.updates[update.referral_id].append(
                {
                    "recorded_at": update.at.isoformat(),
                    "release_on": _date(update.release_on),
                    "phone_changed": update.phone_changed,
                    "message": update.message,
                    "recorded_by": _staff(update.user),
                }
            )
        # The contact each came from; or one released from it (the referral was entered
        # in error and the contact given another outcome), which still points at it.
        self.contacts: dict[int, CustodyContact] = {}
        found = session.scalars(
            sa.select(CustodyContact).where(
                sa.or_(
                    CustodyContact.referral_id.in_(ids),
                    sa.and_(
                        CustodyContact.referral_id.is_(None),
                        CustodyContact.released_from_id.in_(ids),
                    ),
                )
            )
        )
        for contact in found:
            self.contacts[contact.referral_id or contact.released_from_id] = contact


def referral_record(referral: Referral, more: FollowUps) -> dict[str, Any]:
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
        "retention_at_12_weeks": _label(referral.retention_outcome),
        "retention_recorded_on": _date(referral.retention_outcome_on),
        "diversion_outcome": _label(referral.diversion_outcome),
        "diversion_outcome_on": _date(referral.diversion_outcome_on),
        "blood_borne_virus_test_offered_on": _date(referral.bbv_test_offered_on),
        "blood_borne_virus_test_taken_on": _date(referral.bbv_test_taken_on),
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
        "contact_attempts": more.attempts.get(referral.id, []),
        "custody_updates": more.updates.get(referral.id, []),
        "custody_contact": _contact_record(more.contacts.get(referral.id)),
    }


def export(session: Session, referrals: list[Referral], now: dt.datetime) -> dict[str, Any]:
    more = FollowUps(session, [r.id for r in referrals])
    return {
        "exported_at": now.isoformat(),
        "what": "Every referral recorded under one custody record number, with its history, "
        "its outcomes, the service's attempts to reach the person, the custody staff's "
        "updates and the custody contact it came from.",
        "referrals": [referral_record(r, more) for r in referrals],
    }
