"""Referrals in and out of the API as JSON.

In: a new referral's JSON is checked for shape (known fields, right types), its ids
turned into the form's (a service UUID, a council area's GSS code, a custody suite's
code), and handed to the referral form as if typed, so the API and the page apply the
same checks and the same consent rule. Out: one referral in full, or a summary for lists.

A new referral may come with an ``Idempotency-Key`` header: the system's name for this
one request, so that sending it again (after losing the answer) makes nothing more. The
key is kept as the referral's form token (``tracking/duplicates.py``), the way the form
keeps its own, as a digest of the system and the key: two systems' keys never meet, and
the form's token is never the system's to choose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from ..choices import ContactMethod
from ..clock import today_local
from ..models import CouncilArea, CustodySuite, Referral, Service
from ..once import TOKEN_LENGTH
from ..workdays import is_overdue, respond_by
from .hsds import timestamp
from .models import ApiClient
from .params import ISO_DATE, NUL_MESSAGE, ApiError, has_nul, parse_uuid

TEXT, FLAG, LIST = "text", "flag", "list"
# API field -> (kind, the form's field)
FIELDS: dict[str, tuple[str, str | None]] = {
    "service_id": (TEXT, None),
    "custody_suite": (TEXT, None),
    "pathway": (TEXT, "pathway"),
    "custody_record_number": (TEXT, "person_ref"),
    "age_band": (TEXT, "age_band"),
    "sex": (TEXT, "sex"),
    "postcode_district": (TEXT, "postcode_district"),
    "no_fixed_abode": (FLAG, "no_fixed_abode"),
    "council_area": (TEXT, None),
    "consent_recorded": (FLAG, "consent_recorded"),
    "consent_date": (TEXT, "consent_date"),
    "substances": (LIST, "substances"),
    "needs": (LIST, "needs"),
    "naloxone_offered": (FLAG, "naloxone_offered"),
    "naloxone_supplied": (FLAG, "naloxone_supplied"),
    "children_in_household": (FLAG, "children_in_household"),
    "same_day_urgent": (FLAG, "same_day_urgent"),
    "contact_method": (TEXT, "contact_method"),
    "contact_name": (TEXT, "contact_name"),
    "contact_phone": (TEXT, "contact_phone"),
    "notes": (TEXT, "notes"),
    "confirm_duplicate": (FLAG, "confirm_duplicate"),
    "confirm_eligibility": (FLAG, "confirm_eligibility"),
}
FORM_TO_API = {form: api for api, (_kind, form) in FIELDS.items() if form}
FORM_TO_API |= {"council_area_id": "council_area", "chosen_service": "service_id"}


def invalid(errors: dict[str, str]) -> ApiError:
    return ApiError(422, "The referral was not made: " + " ".join(errors.values()), errors)


IDEMPOTENCY_KEY = "Idempotency-Key"


def idempotency_token(client: ApiClient, key: str | None) -> str | None:
    """The form token of the referral ``client`` makes with ``Idempotency-Key: key``
    (None without the header)."""
    if key is None:
        return None
    if not 0 < len(key) <= TOKEN_LENGTH:
        message = f"must be 1 to {TOKEN_LENGTH} characters, like a UUID."
        raise ApiError(400, f"The {IDEMPOTENCY_KEY} header {message}", {IDEMPOTENCY_KEY: message})
    # 64 hex digits: the column's length, and never one of the form's shorter tokens.
    return hashlib.sha256(f"{client.id}\n{key}".encode()).hexdigest()


def new_referral_form(
    session: Session, client: ApiClient, body: Any, form_token: str | None = None
) -> tuple[MultiDict, CustodySuite]:
    """The form fields for a new referral sent as JSON (with ``form_token``, when the
    request named itself), and the suite it is made in."""
    if not isinstance(body, dict):
        raise ApiError(400, "Send the referral as a JSON object (Content-Type: application/json).")
    errors: dict[str, str] = {}
    for name in sorted(set(body) - set(FIELDS)):
        errors[name] = f"is not a field of a referral (the fields are: {', '.join(FIELDS)})."
    data = MultiDict()
    if form_token:
        data.add("form_token", form_token)
    for name, (kind, form_name) in FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if has_nul(value):
            errors[name] = NUL_MESSAGE
        elif kind == FLAG and not isinstance(value, bool):
            errors[name] = "must be true or false."
        elif kind == TEXT and not isinstance(value, str):
            errors[name] = "must be text."
        elif kind == LIST and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            errors[name] = 'must be a list of codes, like ["opioids", "alcohol"].'
        elif name == "consent_date" and not ISO_DATE.fullmatch(value.strip()):
            # Day first and words are a person's ways, ambiguous from a system.
            errors[name] = "must be a date written YYYY-MM-DD, like 2026-11-22."
        elif form_name is None:
            continue
        elif kind == FLAG:
            if value:
                data.add(form_name, "y")
        elif kind == LIST:
            for item in value:
                data.add(form_name, item)
        else:
            data.add(form_name, value)
    if errors:
        raise invalid(errors)
    if body.get("consent_date") is None:
        data.add("consent_date", today_local().isoformat())  # as the form starts: today
    service_id = _service_id(session, body.get("service_id"))
    if service_id is not None:
        data.add("service_id", str(service_id))
    if body.get("council_area"):
        council = session.scalar(
            sa.select(CouncilArea.id).where(CouncilArea.code == body["council_area"].strip())
        )
        if council is None:
            raise invalid(
                {"council_area": "must be the GSS code of a council area, like S12000049."}
            )
        data.add("council_area_id", str(council))
    return data, _suite(client, body.get("custody_suite"))


def _service_id(session: Session, value: str | None) -> int | None:
    if not value:
        return None
    key = parse_uuid(value)
    found = key and session.scalar(sa.select(Service.id).where(Service.uuid == key))
    if not found:
        raise invalid(
            {"service_id": "must be the id of a service in the directory (/api/v1/services)."}
        )
    return found


def _suite(client: ApiClient, code: str | None) -> CustodySuite:
    suites = {suite.code: suite for suite in client.suites}
    codes = ", ".join(suites)
    if code:
        suite = suites.get(code.strip().upper())
        if suite is None:
            raise invalid({"custody_suite": f"must be one of this system's suites: {codes}."})
        return suite
    if len(suites) > 1:
        raise invalid({"custody_suite": f"Say which suite the referral is made in: {codes}."})
    return next(iter(suites.values()))


def form_errors(form, service_problem: str | None) -> dict[str, str]:
    """The referral form's messages, by API field."""
    errors: dict[str, str] = {}
    for field in form:
        if field.errors:
            name = FORM_TO_API.get(field.name, field.name)
            errors[name] = " ".join(str(m) for m in field.errors)
    if service_problem:
        errors["service_id"] = service_problem
    return errors


# -- out --------------------------------------------------------------------------------


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _codes(text: str | None) -> list[str]:
    return [c for c in (text or "").split(",") if c]


def referral_summary(referral: Referral) -> dict:
    """What a list shows: the referral's state, without details about the person."""
    days = current_app.config["OVERDUE_WORKING_DAYS"]
    return {
        "id": str(referral.uuid),
        "reference": referral.reference,
        "status": referral.status.value,
        "version": referral.version,
        "referred_on": _date(referral.referred_on),
        "made_at": timestamp(referral.made_at),
        "updated_at": timestamp(referral.updated_at),
        "service_id": str(referral.service.uuid),
        "custody_suite": referral.custody_suite.code,
        "respond_by": _date(respond_by(referral.referred_on, days)),
        "overdue": is_overdue(referral.status, referral.referred_on, today_local(), days),
        "links": {
            "self": url_for("api.referral", referral_id=referral.uuid, _external=True),
            "fhir": url_for("api.referral_fhir", referral_id=referral.uuid, _external=True),
        },
    }


def referral_full(referral: Referral) -> dict:
    """Everything the referral's page shows to the suite and the receiving organisation."""
    self_present = referral.contact_method == ContactMethod.SELF_PRESENT
    return referral_summary(referral) | {
        "service": {
            "id": str(referral.service.uuid),
            "name": referral.service.name,
            "organization": {
                "id": str(referral.service.organisation.uuid),
                "name": referral.service.organisation.name,
            },
        },
        "custody_suite_name": referral.custody_suite.name,
        "pathway": referral.pathway.value,
        "custody_record_number": referral.person_ref,
        "age_band": referral.age_band.value,
        "sex": referral.sex.value,
        "postcode_district": referral.postcode_district,
        "council_area": referral.council_area.code,
        "consent_recorded": referral.consent_recorded,
        "consent_date": _date(referral.consent_date),
        "substances": _codes(referral.substances),
        "needs": _codes(referral.needs),
        "naloxone_offered": referral.naloxone_offered,
        "naloxone_supplied": referral.naloxone_supplied,
        "children_in_household": referral.children_in_household,
        "same_day_urgent": referral.same_day_urgent,
        "contact_method": referral.contact_method.value if referral.contact_method else None,
        "contact_name": None if self_present else referral.contact_name,
        "contact_phone": None if self_present else referral.contact_phone,
        "notes": referral.notes,
        "personal_data_erased": referral.personal_data_erased_at is not None,
        "accepted_on": _date(referral.accepted_on),
        "declined_on": _date(referral.declined_on),
        "declined_by": referral.declined_by.value if referral.declined_by else None,
        "decline_reason": referral.decline_reason.value if referral.decline_reason else None,
        "engaged_on": _date(referral.engaged_on),
        "treatment_started_on": _date(referral.treatment_started_on),
        "closed_on": _date(referral.closed_on),
        "close_reason": referral.close_reason.value if referral.close_reason else None,
        "events": [
            {
                "at": timestamp(event.at),
                "from_status": event.from_status.value if event.from_status else None,
                "to_status": event.to_status.value,
                "date": _date(event.event_date),
                "reason": event.reason,
                "note": event.note,
                "by": event.user.name if event.user else None,
            }
            for event in referral.events
        ],
    }
