"""Each referral as FHIR R4 resources, following the HL7 Gravity / SDOH Clinical Care
referral pattern: a ``ServiceRequest`` (what the custody suite asked for) and a ``Task``
(the receiving service's work on it), together in a ``collection`` Bundle.

The Task's status follows the referral (the Gravity mapping):

    made                                  -> requested
    accepted                              -> accepted
    engaged, treatment started            -> in-progress, with the dates as outputs
    declined by the service               -> rejected
    declined by the person                -> cancelled
    closed: completed                     -> completed
    closed: person declined               -> cancelled
    closed: disengaged, not contactable,  -> failed (the reason in statusReason)
            moved area, in custody, died
    closed: entered in error              -> entered-in-error
    closed: referred on                   -> cancelled (the service did not do the work;
                                             the person went on to another service)

The ServiceRequest stays ``active`` while the referral is open, and then becomes
``completed`` (completed), ``entered-in-error``, or ``revoked`` (any other ending). The
referral a referral was passed on to ``replaces`` the first's ServiceRequest, so that a
system can follow the person's journey.
"""

from __future__ import annotations

import datetime as dt
from uuid import uuid5

from flask import current_app, url_for

from ..choices import CloseReason, DeclinedBy, Need, ReferralStatus
from ..models import Referral
from .hsds import timestamp

S = ReferralStatus
FHIR_JSON = "application/fhir+json"
SNOMED = "http://snomed.info/sct"
URI = "urn:ietf:rfc:3986"
PATIENT_REFERRAL = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
CLOSED_TASK_STATUS = {
    CloseReason.COMPLETED: "completed",
    CloseReason.PERSON_DECLINED: "cancelled",
    CloseReason.ENTERED_IN_ERROR: "entered-in-error",
    CloseReason.REFERRED_ON: "cancelled",
}
OPEN_TASK_STATUS = {
    S.MADE: "requested",
    S.ACCEPTED: "accepted",
    S.ENGAGED: "in-progress",
    S.TREATMENT_STARTED: "in-progress",
}
OUTPUTS = (
    ("engaged_on", "first-attendance", "First attendance"),
    ("treatment_started_on", "treatment-started", "Treatment started"),
)


def task_status(referral: Referral) -> str:
    if referral.status in OPEN_TASK_STATUS:
        return OPEN_TASK_STATUS[referral.status]
    if referral.status == S.DECLINED:
        return "rejected" if referral.declined_by == DeclinedBy.PROVIDER else "cancelled"
    return CLOSED_TASK_STATUS.get(referral.close_reason, "failed")


def request_status(referral: Referral) -> str:
    if referral.status in OPEN_TASK_STATUS:
        return "active"
    if referral.close_reason == CloseReason.COMPLETED:
        return "completed"
    if referral.close_reason == CloseReason.ENTERED_IN_ERROR:
        return "entered-in-error"
    return "revoked"


def system(name: str) -> str:
    """The URI of one of this installation's identifier or code systems."""
    base = (
        current_app.config.get("FHIR_SYSTEM_BASE") or url_for("api.root", _external=True) + "fhir/"
    )
    return base.rstrip("/") + "/" + name


def _urn(value: object) -> dict:
    return {"system": URI, "value": f"urn:uuid:{value}"}


def _coded(system_name: str, code: str, display: str) -> dict:
    return {
        "coding": [{"system": system(system_name), "code": code, "display": display}],
        "text": display,
    }


def _common(referral: Referral) -> dict:
    suite, service = referral.custody_suite, referral.service
    return {
        "identifier": [{"system": system("referral-reference"), "value": referral.reference}],
        "intent": "order",
        "priority": "urgent" if referral.same_day_urgent else "routine",
        "authoredOn": timestamp(referral.made_at),
        "requester": {
            "type": "Organization",
            "identifier": {"system": system("custody-suite"), "value": suite.code},
            "display": suite.name,
        },
        "subject": _subject(referral.person_ref),
        "service": {
            "type": "HealthcareService",
            "identifier": _urn(service.uuid),
            "display": service.name,
        },
    }


def service_request(referral: Referral) -> dict:
    common = _common(referral)
    service = referral.service
    resource = {
        "resourceType": "ServiceRequest",
        "id": str(referral.uuid),
        "meta": {"lastUpdated": timestamp(referral.updated_at)},
        "identifier": common["identifier"],
        "status": request_status(referral),
        "intent": common["intent"],
        "priority": common["priority"],
        "code": {
            "coding": [
                PATIENT_REFERRAL,
                *[
                    {"system": system("service-type"), "code": t.code, "display": t.name}
                    for t in service.types
                ],
            ],
            "text": f"Referral to {service.name}",
        },
        "subject": common["subject"],
        "authoredOn": common["authoredOn"],
        "requester": common["requester"],
        "performer": [common["service"]],
        "reasonCode": [
            _coded("need", code, Need(code).label)
            for code in (referral.needs or "").split(",")
            if code in Need.values()
        ],
    }
    if referral.referred_from is not None:
        first = referral.referred_from.uuid
        resource["replaces"] = [{"reference": f"urn:uuid:{first}", "type": "ServiceRequest"}]
    if referral.notes:
        resource["note"] = [{"text": referral.notes}]
    if not resource["reasonCode"]:
        del resource["reasonCode"]
    return resource


def task_id(referral: Referral) -> str:
    return str(uuid5(referral.uuid, "task"))


def task(referral: Referral) -> dict:
    common = _common(referral)
    organisation = referral.service.organisation
    status = referral.status
    resource = {
        "resourceType": "Task",
        "id": task_id(referral),
        "meta": {"lastUpdated": timestamp(referral.updated_at)},
        "identifier": common["identifier"],
        "basedOn": [{"reference": f"urn:uuid:{referral.uuid}", "type": "ServiceRequest"}],
        "focus": {"reference": f"urn:uuid:{referral.uuid}", "type": "ServiceRequest"},
        "status": task_status(referral),
        "businessStatus": _coded("referral-status", status.value, status.label),
        "intent": common["intent"],
        "priority": common["priority"],
        "for": common["subject"],
        "authoredOn": common["authoredOn"],
        "lastModified": timestamp(referral.updated_at),
        "requester": common["requester"],
        "owner": {
            "type": "Organization",
            "identifier": _urn(organisation.uuid),
            "display": organisation.name,
        },
        "executionPeriod": {"start": common["authoredOn"]},
    }
    reason = referral.decline_reason or referral.close_reason
    if status in (S.DECLINED, S.CLOSED) and reason is not None:
        kind = "decline-reason" if status == S.DECLINED else "close-reason"
        resource["statusReason"] = _coded(kind, reason.value, reason.label)
        ended: dt.date | None = referral.declined_on or referral.closed_on
        if ended is not None:
            resource["executionPeriod"]["end"] = ended.isoformat()
    outputs = [
        {"type": _coded("referral-output", code, label), "valueDate": value.isoformat()}
        for column, code, label in OUTPUTS
        if (value := getattr(referral, column)) is not None
    ]
    if outputs:
        resource["output"] = outputs
    return resource


def bundle(referral: Referral, now: dt.datetime) -> dict:
    """The referral's ServiceRequest and Task, as one Bundle."""
    return {
        "resourceType": "Bundle",
        "id": str(uuid5(referral.uuid, f"bundle:{referral.version}")),
        "type": "collection",
        "timestamp": timestamp(now),
        "entry": [
            {"fullUrl": f"urn:uuid:{referral.uuid}", "resource": service_request(referral)},
            {"fullUrl": f"urn:uuid:{task_id(referral)}", "resource": task(referral)},
        ],
    }


def _subject(person_ref: str | None) -> dict:
    """The person, by custody record number; once their personal data is erased, a
    reference with no identifier (FHIR allows none, not an empty one)."""
    if person_ref is None:
        return {"display": "Custody record (erased)"}
    return {
        "identifier": {"system": system("custody-record-number"), "value": person_ref},
        "display": f"Custody record {person_ref}",
    }
