"""Recording custody contacts: how the answers fit together, and the save.

A contact is checked as a whole before anything is written:

- the date is given, not in the future and at most ``MAX_AGE_DAYS`` ago;
- the home postcode district is one we know (a full postcode is cut to its district,
  which is all that is kept), or "no fixed abode", when the council of residence is the
  suite's own;
- "offered arrest referral" agrees with the outcome: a referral made or a declined
  offer means it was offered, and someone released before being seen was not. Left
  blank, it is worked out from those outcomes, and "not suitable" means not offered;
  for "already in treatment" it must be given;
- a contact tied to a referral (``linking.tied_referral``) does not move away from
  the referral's suite;
- a declined offer and "not suitable" each need their reason, and only they keep one;
  only "already in treatment" keeps the service the person is with.

One contact, or every row of a batch, is saved in the caller's transaction with an
audit row each, so a batch is saved whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import record
from ..choices import AgeBand, Sex
from ..database import as_id
from ..models import CustodySuite, PostcodeDistrict, User
from ..postcodes import normalise_district, normalise_postcode
from ..templating import format_date
from .choices import (
    NOT_OFFERED_UNLESS_SAID,
    OFFERED_OUTCOMES,
    UNSEEN_OUTCOMES,
    ContactDeclineReason,
    ContactOutcome,
    NaloxoneStatus,
    NotSuitableReason,
)
from .linking import release, tied_referral
from .models import CustodyContact

MAX_AGE_DAYS = 31
NO_FIXED_ABODE = {"NFA", "NOFIXEDABODE", "NONE"}


@dataclass
class ContactValues:
    """A contact's answers, checked and ready to save."""

    custody_suite_id: int
    contact_on: dt.date
    age_band: AgeBand
    sex: Sex
    postcode_district: str | None
    council_area_id: int
    offered: bool
    outcome: ContactOutcome
    decline_reason: ContactDeclineReason | None
    not_suitable_reason: NotSuitableReason | None
    treatment_service_id: int | None
    naloxone: NaloxoneStatus
    veteran: bool | None


Problems = list[tuple[str, str]]  # (field name, message)


class ContactChecker:
    """Checks answers for contacts at one or more suites, with look-ups read once."""

    def __init__(self, session: Session, today: dt.date):
        self.session, self.today = session, today
        self.district_councils = dict(
            session.execute(
                sa.select(PostcodeDistrict.district, PostcodeDistrict.council_area_id)
            ).all()
        )
        self.suites = {s.id: s for s in session.scalars(sa.select(CustodySuite))}

    def district(self, text: str, box: bool = False) -> tuple[str | None, bool, str | None]:
        """``(district, no fixed abode, problem)`` for what was typed; ``box``: the form
        has a "No fixed abode" box to tick (the batch's rows have not: NFA is typed)."""
        squashed = "".join((text or "").split()).upper()
        if squashed in NO_FIXED_ABODE:
            return None, True, None
        otherwise = "tick “No fixed abode”" if box else "enter NFA for no fixed abode"
        if not squashed:
            return None, False, f"Enter the postcode district (like G31), or {otherwise}."
        full = normalise_postcode(squashed)
        district = full.split()[0] if full else normalise_district(squashed)
        if district is None or district not in self.district_councils:
            return (
                None,
                False,
                (
                    "We do not know that postcode district. Check it (the first part of the "
                    f"postcode, like G31), or {otherwise}."
                ),
            )
        return district, False, None

    def check(self, answers: dict, suite_id: int | None, saved: CustodyContact | None = None):
        """``(ContactValues, [])`` when the answers fit together, else ``(None, problems)``.

        ``answers`` holds the forms' data: text codes, ``"yes"``/``"no"`` for offered
        and veteran, a date for ``contact_on``. ``saved`` is the contact being changed:
        its saved date may stay even when older than the recording limit, and while it
        is tied to a referral it moves to no suite but that referral's.
        """
        problems: Problems = []
        suite = self.suites.get(suite_id) if suite_id else None
        keep_date = saved.contact_on if saved is not None else None
        if suite is None:
            problems.append(("custody_suite_id", "Choose the custody suite."))
        elif saved is not None and suite.id != saved.custody_suite_id:
            tied = tied_referral(self.session, saved)
            if tied is not None and suite.id != tied.custody_suite_id:
                there = self.suites[tied.custody_suite_id].name
                problems.append(
                    (
                        "custody_suite_id",
                        f"This contact belongs with referral {tied.reference}, made at "
                        f"{there}, so it stays at {there}: choose {there} again to save "
                        "your other changes.",
                    )
                )

        on = answers.get("contact_on")
        if on is None:
            problems.append(("contact_on", "Enter the date the person was seen, like 27/11/2026."))
        elif on > self.today:
            problems.append(("contact_on", "The date seen cannot be in the future."))
        elif (self.today - on).days > MAX_AGE_DAYS and on != keep_date:
            problems.append(
                (
                    "contact_on",
                    f"Contacts can be recorded up to {MAX_AGE_DAYS} days after the person was "
                    f"seen (so from {format_date(self.today - dt.timedelta(days=MAX_AGE_DAYS))}).",
                )
            )

        district, nfa, problem = self.district(
            answers.get("postcode_district") or "", box="no_fixed_abode" in answers
        )
        if answers.get("no_fixed_abode"):
            district, nfa, problem = None, True, None
        if problem:
            problems.append(("postcode_district", problem))
        council_id = None
        if district:
            council_id = self.district_councils[district]
        elif nfa and suite is not None:
            council_id = suite.council_area_id

        outcome = ContactOutcome.of(answers.get("outcome"))
        offered = {"yes": True, "no": False}.get(answers.get("offered") or "")
        if outcome is not None:
            if offered is None and outcome in OFFERED_OUTCOMES:
                offered = True
            elif offered is None and outcome in UNSEEN_OUTCOMES | NOT_OFFERED_UNLESS_SAID:
                offered = False
            elif offered is None:
                problems.append(("offered", "Say whether the person was offered arrest referral."))
            elif not offered and outcome in OFFERED_OUTCOMES:
                problems.append(
                    (
                        "offered",
                        f"“{outcome.label}” means the person was offered arrest referral: "
                        "choose Yes, or change the outcome.",
                    )
                )
            elif offered and outcome in UNSEEN_OUTCOMES:
                problems.append(
                    (
                        "offered",
                        "Someone released before being seen cannot have been offered "
                        "arrest referral: choose No, or change the outcome.",
                    )
                )

        decline = ContactDeclineReason.of(answers.get("decline_reason"))
        unsuitable = NotSuitableReason.of(answers.get("not_suitable_reason"))
        # A batch row's one reason column: a reason of the other kind is a mix-up to name.
        other_kind = bool(answers.get("one_reason"))
        if outcome == ContactOutcome.DECLINED and decline is None:
            problems.append(
                (
                    "decline_reason",
                    f"“{unsuitable.label}” is a reason for “Not suitable”: choose why the "
                    "person declined, or change the outcome."
                    if other_kind and unsuitable is not None
                    else "Choose why the person declined.",
                )
            )
        if outcome == ContactOutcome.NOT_SUITABLE and unsuitable is None:
            problems.append(
                (
                    "not_suitable_reason",
                    f"“{decline.label}” is a reason the person declined: choose why they "
                    "were not suitable, or change the outcome."
                    if other_kind and decline is not None
                    else "Choose why the person was not suitable.",
                )
            )
        # The form offers only services that exist; any other answer it has refused.
        service_id = None
        if outcome == ContactOutcome.ALREADY_IN_TREATMENT:
            service_id = as_id(answers.get("treatment_service_id"))

        age_band = AgeBand.of(answers.get("age_band"))
        if (
            outcome == ContactOutcome.NOT_SUITABLE
            and unsuitable == NotSuitableReason.UNDER_16
            and age_band not in (None, AgeBand.UNDER_18)
        ):
            problems.append(
                (
                    "age_band",
                    f"“{unsuitable.label}” does not fit the age band “{age_band.label}”: "
                    "choose “Under 18”, or another reason.",
                )
            )
        sex = Sex.of(answers.get("sex"))
        naloxone = NaloxoneStatus.of(answers.get("naloxone"))
        if problems or None in (outcome, age_band, sex, naloxone):
            return None, problems  # a missing answer: the form says which
        veteran = {"yes": True, "no": False}.get(answers.get("veteran") or "")
        return (
            ContactValues(
                custody_suite_id=suite.id,
                contact_on=on,
                age_band=age_band,
                sex=sex,
                postcode_district=district,
                council_area_id=council_id,
                offered=bool(offered),
                outcome=outcome,
                decline_reason=decline if outcome == ContactOutcome.DECLINED else None,
                not_suitable_reason=unsuitable if outcome == ContactOutcome.NOT_SUITABLE else None,
                treatment_service_id=service_id,
                naloxone=naloxone,
                veteran=veteran,
            ),
            [],
        )


def _audit_detail(contact: CustodyContact) -> dict:
    """What the audit log keeps of a contact: its coded answers (it holds no identifier)."""
    return {
        "suite": contact.custody_suite_id,
        "date": contact.contact_on.isoformat(),
        "outcome": contact.outcome.value,
        "offered": contact.offered,
        "naloxone": contact.naloxone.value,
    }


def add_contact(
    session: Session, user: User, values: ContactValues, *, batch_row: int | None = None
) -> CustodyContact:
    """Add one contact and its audit row to the session; the caller commits."""
    contact = CustodyContact(recorded_by_id=user.id, **vars(values))
    session.add(contact)
    session.flush()
    detail = _audit_detail(contact)
    if batch_row is not None:
        detail["batch_row"] = batch_row
    record("contact_recorded", contact, user=user, detail=detail)
    return contact


def update_contact(
    session: Session, contact: CustodyContact, user: User, values: ContactValues
) -> dict:
    """Change a contact to ``values``; audit and return what changed. The caller commits
    (``StaleDataError`` then means someone else changed it first)."""
    changes = {}
    for field in fields(ContactValues):
        before, after = getattr(contact, field.name), getattr(values, field.name)
        if before != after:
            # The district is erased with the referral's personal data; the audit log,
            # which is never changed, keeps only that it changed.
            kept = "changed" if field.name in ERASED_WITH_REFERRAL else None
            changes[field.name] = kept or [_plain(before), _plain(after)]
            setattr(contact, field.name, after)
    released = release(contact)
    if released is not None:
        changes["referral_id"] = [released, None]
    if changes:
        record("contact_updated", contact, user=user, detail=changes)
    return changes


# A contact's answers erased with its referral's personal data (``tracking.retention``).
ERASED_WITH_REFERRAL = frozenset({"postcode_district"})


def _plain(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)
