"""Each referral as FHIR R4 resources: a ServiceRequest and a Task whose status follows
the HL7 Gravity / SDOH Clinical Care referral mapping, validated with fhir.resources.

fhir.resources validates R4B (4.3.0) models, whose ServiceRequest, Task and Bundle have
exactly R4's (4.0.1) elements; the status codes are checked against R4's value sets here.
"""

import datetime as dt

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from referrals.choices import Role

from .factories import (
    bearer,
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)

# FHIR R4 value sets: http://hl7.org/fhir/R4/valueset-task-status.html, request-status.
TASK_STATUSES = {
    "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
    "in-progress", "on-hold", "failed", "completed", "entered-in-error",
}  # fmt: skip
REQUEST_STATUSES = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}
DAY = dt.date.today() - dt.timedelta(days=20)


def on(days: int) -> dt.date:
    return DAY + dt.timedelta(days=days)


# (referral's state, Task.status, ServiceRequest.status, outputs)
CASES = [
    ({"status": "made"}, "requested", "active", []),
    ({"status": "accepted", "accepted_on": on(1)}, "accepted", "active", []),
    (
        {"status": "engaged", "accepted_on": on(1), "engaged_on": on(3)},
        "in-progress",
        "active",
        ["first-attendance"],
    ),
    (
        {
            "status": "treatment_started",
            "accepted_on": on(1),
            "engaged_on": on(3),
            "treatment_started_on": on(8),
        },
        "in-progress",
        "active",
        ["first-attendance", "treatment-started"],
    ),
    (
        {
            "status": "declined",
            "declined_on": on(1),
            "declined_by": "provider",
            "decline_reason": "no_capacity",
        },
        "rejected",
        "revoked",
        [],
    ),
    (
        {
            "status": "declined",
            "declined_on": on(1),
            "declined_by": "person",
            "decline_reason": "person_declined",
        },
        "cancelled",
        "revoked",
        [],
    ),
    (
        {
            "status": "closed",
            "accepted_on": on(1),
            "engaged_on": on(3),
            "treatment_started_on": on(8),
            "closed_on": on(15),
            "close_reason": "completed",
        },
        "completed",
        "completed",
        ["first-attendance", "treatment-started"],
    ),
    (
        {"status": "closed", "closed_on": on(2), "close_reason": "person_declined"},
        "cancelled",
        "revoked",
        [],
    ),
    (
        {"status": "closed", "closed_on": on(2), "close_reason": "disengaged"},
        "failed",
        "revoked",
        [],
    ),
    (
        {"status": "closed", "closed_on": on(2), "close_reason": "not_contactable"},
        "failed",
        "revoked",
        [],
    ),
    (
        {"status": "closed", "closed_on": on(2), "close_reason": "moved_area"},
        "failed",
        "revoked",
        [],
    ),
    (
        {"status": "closed", "closed_on": on(2), "close_reason": "referred_on"},
        "cancelled",
        "revoked",
        [],
    ),
    (
        {"status": "closed", "closed_on": on(0), "close_reason": "entered_in_error"},
        "entered-in-error",
        "entered-in-error",
        [],
    ),
]


@pytest.fixture
def setup(session):
    org = make_organisation(session, "Recovery Trust")
    service = make_service(session, organisation=org, name="Trust Glasgow", type_code="ost")
    officer = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    _system, token = make_api_client(session, Role.PROVIDER, organisation=org)
    return service, officer, token


@pytest.mark.parametrize(("state", "task_status", "request_status", "outputs"), CASES)
def test_task_status_follows_the_gravity_referral_mapping(
    client, session, setup, state, task_status, request_status, outputs
):
    service, officer, token = setup
    referral = make_referral(
        session,
        service=service,
        referrer=officer,
        referred_on=DAY,
        same_day_urgent=True,
        needs="treatment,housing",
        **state,
    )
    session.commit()
    response = client.get(f"/api/v1/referrals/{referral.uuid}/fhir", headers=bearer(token))
    assert response.status_code == 200
    assert response.mimetype == "application/fhir+json"
    bundle = Bundle.model_validate(response.get_json())
    assert bundle.type == "collection" and len(bundle.entry) == 2
    request, task = bundle.entry[0].resource, bundle.entry[1].resource
    assert isinstance(request, ServiceRequest) and isinstance(task, Task)
    assert task.status == task_status and task.status in TASK_STATUSES
    assert request.status == request_status and request.status in REQUEST_STATUSES
    assert [o.type.coding[0].code for o in task.output or []] == outputs
    # The Task is the service's work on this ServiceRequest, about the same person.
    assert bundle.entry[0].fullUrl == f"urn:uuid:{referral.uuid}" == task.basedOn[0].reference
    assert task.focus.reference == task.basedOn[0].reference
    assert task.for_fhir.identifier.value == referral.person_ref
    assert request.subject.identifier.value == referral.person_ref
    assert request.identifier[0].value == task.identifier[0].value == referral.reference
    assert request.intent == task.intent == "order" and request.priority == "urgent"
    assert request.code.coding[0].code == "3457005"  # SNOMED CT: patient referral
    assert [c.text for c in request.reasonCode] == ["Drug or alcohol treatment", "Housing"]
    assert (
        task.owner.display == "Recovery Trust" and request.performer[0].display == "Trust Glasgow"
    )
    assert task.businessStatus.coding[0].code == referral.status
    if state["status"] in ("declined", "closed"):
        reason = state.get("decline_reason") or state["close_reason"]
        assert task.statusReason.coding[0].code == reason
        assert (
            str(task.executionPeriod.end)
            == (state.get("declined_on") or state["closed_on"]).isoformat()
        )
    else:
        assert task.statusReason is None and task.executionPeriod.end is None
    for entry, value in zip(
        task.output or [],
        [state.get("engaged_on"), state.get("treatment_started_on")],
        strict=False,
    ):
        assert entry.valueDate == value


def test_the_task_moves_on_when_the_service_records_a_step(client, session, setup):
    service, officer, token = setup
    referral = make_referral(session, service=service, referrer=officer)
    session.commit()

    def task_status() -> str:
        bundle = client.get(
            f"/api/v1/referrals/{referral.uuid}/fhir", headers=bearer(token)
        ).get_json()
        return Bundle.model_validate(bundle).entry[1].resource.status

    assert task_status() == "requested"
    client.post(
        f"/api/v1/referrals/{referral.uuid}/events",
        json={"action": "accept", "version": 1},
        headers=bearer(token),
    )
    assert task_status() == "accepted"
    client.post(
        f"/api/v1/referrals/{referral.uuid}/events",
        json={"action": "attend", "version": 2},
        headers=bearer(token),
    )
    assert task_status() == "in-progress"


def test_a_referral_passed_on_replaces_the_first(client, session, setup):
    """The service it was passed to sees where it came from; the first is cancelled."""
    service, officer, token = setup
    first = make_referral(
        session,
        service=service,
        referrer=officer,
        referred_on=DAY,
        status="closed",
        closed_on=on(2),
        close_reason="referred_on",
    )
    session.flush()
    second = make_referral(
        session, service=service, referrer=officer, referred_on=on(2), referred_from=first
    )
    session.commit()
    bundles = {}
    for referral in (first, second):
        response = client.get(f"/api/v1/referrals/{referral.uuid}/fhir", headers=bearer(token))
        assert response.status_code == 200
        bundles[referral.id] = Bundle.model_validate(response.get_json())
    request, task = (e.resource for e in bundles[first.id].entry)
    assert (request.status, task.status, request.replaces) == ("revoked", "cancelled", None)
    request = bundles[second.id].entry[0].resource
    assert [r.reference for r in request.replaces] == [f"urn:uuid:{first.uuid}"]
    assert request.status == "active"
