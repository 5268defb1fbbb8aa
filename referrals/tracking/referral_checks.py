"""What a new referral must pass beyond its form's own validators, with a message a
custody officer understands on the field at fault:

- a service chosen (one that takes custody referrals: ``making`` checks that);
- the person's consent recorded, with its date, not in the future and not more than
  ``CONSENT_MAX_AGE_DAYS`` ago;
- where they live: a known postcode district (its council filled in), or "no fixed
  abode" with a council chosen;
- a way to make contact that works: a valid phone number for a call or text, a name
  for a letter.

The same checks serve the custody page and the referral API (``ReferralMaker``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from .. import nation
from ..choices import ContactMethod
from ..phones import phone_problem, text_problem
from ..postcodes import FILLED_FOR_NO_FIXED_ABODE, normalise_district
from .forms import ReferralForm

CONSENT_MAX_AGE_DAYS = 30


def unknown_district() -> str:
    here = nation.current()
    return (
        "We do not know that postcode district. Check it (the first part of the "
        f"postcode{here.like('district')}), or tick “No fixed abode” and choose the "
        f"{here.in_sentence('council')}."
    )


def check_referral(
    form: ReferralForm,
    *,
    service_chosen: bool,
    today: dt.date,
    council_of: Callable[[str], str | None],
) -> bool:
    """Whether ``form`` passes the checks above; the messages go on its fields. A known
    district is written in its usual form and its council filled in; with "no fixed
    abode" the district is cleared. ``council_of`` gives a district's council code."""
    valid = True
    if not service_chosen:
        form.chosen_service.errors.append("Choose the service to refer to.")
        valid = False
    valid &= _consent(form, today)
    valid &= _where(form, council_of)
    valid &= _contact(form)
    return valid


def _consent(form: ReferralForm, today: dt.date) -> bool:
    if not form.consent_recorded.data:
        form.consent_recorded.errors.append(
            "The person's consent must be recorded. A referral cannot be made without it: "
            "ask the person, and tick the box once they agree."
        )
    elif form.consent_date.data is None:
        if not form.consent_date.errors:  # a date that is not a real one is told already
            form.consent_date.errors.append("Enter the date consent was given.")
    elif form.consent_date.data > today:
        form.consent_date.errors.append("The consent date cannot be in the future.")
    elif (today - form.consent_date.data).days > CONSENT_MAX_AGE_DAYS:
        form.consent_date.errors.append(
            f"Consent must have been given in the last {CONSENT_MAX_AGE_DAYS} days. Ask "
            "the person again."
        )
    else:
        return True
    return False


def _where(form: ReferralForm, council_of: Callable[[str], str | None]) -> bool:
    valid = True
    if form.no_fixed_abode.data:
        form.postcode_district.data = ""
    else:
        raw = (form.postcode_district.data or "").strip()
        district = normalise_district(raw)
        if not raw:
            form.postcode_district.errors.append(
                "Enter the postcode district"
                f"{nation.current().like('district', ' (like ', ')')}, or tick “No fixed "
                "abode”."
            )
            valid = False
        elif district is None or (council := council_of(district)) is None:
            form.postcode_district.errors.append(unknown_district())
            valid = False
        else:
            form.postcode_district.data = district
            if not form.council_area_id.data or _filled_for_another(form, district, council_of):
                form.council_area_id.data = council
                form.council_filled_for.data = district
    if not form.council_area_id.data:
        form.council_area_id.errors.append(
            f"Choose the {nation.current().in_sentence('council')} where the person lives."
        )
        valid = False
    return valid


def _filled_for_another(
    form: ReferralForm, district: str, council_of: Callable[[str], str | None]
) -> bool:
    """Whether the council was filled in from another district (or with "no fixed
    abode") and left as it was: the district has since been corrected (or given), so its
    council must be too."""
    filled = form.council_filled_for.data or ""
    if filled.startswith(FILLED_FOR_NO_FIXED_ABODE):
        return filled == f"{FILLED_FOR_NO_FIXED_ABODE}{form.council_area_id.data}"
    filled_for = normalise_district(filled)
    return (
        filled_for is not None
        and filled_for != district
        and form.council_area_id.data == council_of(filled_for)
    )


def _contact(form: ReferralForm) -> bool:
    valid = True
    method = form.contact_method.data
    phone = (form.contact_phone.data or "").strip()
    if method in (ContactMethod.PHONE, ContactMethod.TEXT):
        check = text_problem if method == ContactMethod.TEXT else phone_problem
        if not phone:
            form.contact_phone.errors.append(
                "Enter a phone number, or choose another way to make contact."
            )
            valid = False
        elif problem := check(phone):
            form.contact_phone.errors.append(problem)
            valid = False
    elif phone and (problem := phone_problem(phone)):
        form.contact_phone.errors.append(problem)
        valid = False
    if method == ContactMethod.LETTER and not (form.contact_name.data or "").strip():
        form.contact_name.errors.append("Enter the person's name for the letter.")
        valid = False
    return valid
