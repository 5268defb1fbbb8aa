"""The referral API's objects in the OpenAPI description."""

from __future__ import annotations

from typing import Any

from ..choices import (
    AgeBand,
    CloseReason,
    ContactMethod,
    DeclinedBy,
    DeclineReason,
    Need,
    Pathway,
    ReferralStatus,
    Sex,
    Substance,
)
from ..tracking.lifecycle import ACTIONS
from .openapi_parts import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    STRING,
    UUID,
    array,
    nullable,
    obj,
)


def codes(choice, description: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "enum": choice.values()}
    if description:
        schema["description"] = description
    return schema


def _text(max_length: int, description: str | None = None) -> dict:
    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if description:
        schema["description"] = description
    return schema


LINKS = obj(["self", "fhir"], self=STRING, fhir=STRING)

REFERRAL_SCHEMAS: dict[str, Any] = {
    "NewReferral": obj(
        [
            "service_id",
            "pathway",
            "custody_record_number",
            "age_band",
            "sex",
            "consent_recorded",
            "contact_method",
        ],
        "A referral from custody. The same checks as the referral form apply: consent must "
        "be recorded (given in the last 30 days); the postcode district must be known, or "
        "no_fixed_abode set with the council_area; a phone number for phone contact, a UK "
        "mobile number (07..., or +44 7...) for text contact; a name for a letter.",
        service_id={**UUID, "description": "A service's id from /services."},
        custody_suite={
            **STRING,
            "description": "The suite's code; needed when the system serves several suites.",
        },
        pathway=codes(Pathway),
        custody_record_number=_text(40),
        age_band=codes(AgeBand),
        sex=codes(Sex),
        postcode_district=_text(8, "Where the person lives: the first part of the postcode."),
        no_fixed_abode=BOOLEAN,
        council_area={**STRING, "description": "GSS code of the council area of residence."},
        consent_recorded={**BOOLEAN, "description": "Must be true."},
        consent_date={**DATE, "description": "Default: today."},
        substances=array(codes(Substance)),
        needs=array(codes(Need)),
        naloxone_offered=BOOLEAN,
        naloxone_supplied=BOOLEAN,
        children_in_household=BOOLEAN,
        same_day_urgent=BOOLEAN,
        contact_method=codes(ContactMethod),
        contact_name=_text(200),
        contact_phone=_text(40),
        notes=_text(4000),
        confirm_duplicate={
            **BOOLEAN,
            "description": "Set true to make the referral even though the same person was "
            "referred to the same service in the last 28 days (otherwise 409).",
        },
        confirm_eligibility={
            **BOOLEAN,
            "description": "Set true to make the referral even though the person clearly "
            "does not fit who the service takes, by its listing's gender or ages (otherwise "
            "409).",
        },
    ),
    "StatusChange": obj(
        ["action", "version"],
        "One step of the referral's lifecycle. Custody systems may only close a referral "
        "the service has not answered yet, as entered in error.",
        action={"type": "string", "enum": list(ACTIONS)},
        version={
            **INTEGER,
            "minimum": 1,
            "description": "The referral's version as last read: a change made since is "
            "not overwritten (409).",
        },
        date={**DATE, "description": "When it happened; default today. Not in the future."},
        reason={
            "type": "string",
            "enum": sorted({*DeclineReason.values(), *CloseReason.values()}),
            "description": "Why it was declined (decline) or closed (close).",
        },
        declined_by=codes(DeclinedBy),
        note=_text(2000),
    ),
    "ReferralSummary": obj(
        [
            "id",
            "reference",
            "status",
            "version",
            "referred_on",
            "made_at",
            "updated_at",
            "service_id",
            "custody_suite",
            "respond_by",
            "overdue",
            "links",
        ],
        id=UUID,
        reference=STRING,
        status=codes(ReferralStatus),
        version=INTEGER,
        referred_on=DATE,
        made_at=DATETIME,
        updated_at=DATETIME,
        service_id=UUID,
        custody_suite=STRING,
        respond_by=DATE,
        overdue=BOOLEAN,
        links=LINKS,
    ),
    "ReferralEvent": obj(
        ["at", "from_status", "to_status", "date", "reason", "note", "by"],
        at=DATETIME,
        from_status=nullable(codes(ReferralStatus)),
        to_status=codes(ReferralStatus),
        date=DATE,
        reason=nullable(STRING),
        note=nullable(STRING),
        by=nullable(STRING),
    ),
    "Referral": {
        "allOf": [
            {"$ref": "#/components/schemas/ReferralSummary"},
            obj(
                [
                    "service",
                    "pathway",
                    "custody_record_number",
                    "age_band",
                    "sex",
                    "council_area",
                    "consent_recorded",
                    "consent_date",
                    "contact_method",
                    "events",
                ],
                service=obj(
                    ["id", "name", "organization"],
                    id=UUID,
                    name=STRING,
                    organization=obj(["id", "name"], id=UUID, name=STRING),
                ),
                custody_suite_name=STRING,
                pathway=codes(Pathway),
                custody_record_number={
                    **nullable(STRING),
                    "description": "null once the person's data is erased.",
                },
                age_band=codes(AgeBand),
                sex=codes(Sex),
                postcode_district=nullable(STRING),
                council_area=STRING,
                consent_recorded=BOOLEAN,
                consent_date=DATE,
                substances=array(STRING),
                needs=array(STRING),
                naloxone_offered=BOOLEAN,
                naloxone_supplied=BOOLEAN,
                children_in_household={
                    **nullable(BOOLEAN),
                    "description": "null on referrals whose personal data was erased "
                    "before it was kept.",
                },
                same_day_urgent=BOOLEAN,
                contact_method={
                    **nullable(codes(ContactMethod)),
                    "description": "null once the person's data is erased.",
                },
                contact_name=nullable(STRING),
                contact_phone=nullable(STRING),
                notes=nullable(STRING),
                personal_data_erased=BOOLEAN,
                accepted_on=nullable(DATE),
                declined_on=nullable(DATE),
                declined_by=nullable(codes(DeclinedBy)),
                decline_reason=nullable(codes(DeclineReason)),
                engaged_on=nullable(DATE),
                treatment_started_on=nullable(DATE),
                closed_on=nullable(DATE),
                close_reason=nullable(codes(CloseReason)),
                events=array({"$ref": "#/components/schemas/ReferralEvent"}),
            ),
        ]
    },
    "FhirBundle": obj(
        ["resourceType", "type", "entry"],
        "A FHIR R4 Bundle (collection) holding the referral's ServiceRequest and Task "
        "(HL7 Gravity SDOH referral status mapping).",
        resourceType={"type": "string", "enum": ["Bundle"]},
        id=STRING,
        type={"type": "string", "enum": ["collection"]},
        timestamp=DATETIME,
        entry=array(
            obj(
                ["fullUrl", "resource"],
                fullUrl=STRING,
                resource=obj(
                    ["resourceType", "id"],
                    resourceType={"type": "string", "enum": ["ServiceRequest", "Task"]},
                    id=STRING,
                ),
            )
        ),
    ),
}
