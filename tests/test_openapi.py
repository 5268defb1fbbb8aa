"""The OpenAPI 3.1 description at /api/v1/openapi.json describes the API as it behaves:
schemathesis sends generated requests (valid and invalid) to every operation, on
whichever database the suite runs on, and checks that none answers 500 and that every
answer's status, content type, headers and body are as described."""

from __future__ import annotations

import datetime as dt

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from jsonschema import Draft202012Validator
from schemathesis import GenerationMode, checks

from referrals.choices import ReferralStatus, Role, ServiceStatus
from referrals.clock import now_utc, today_local
from referrals.models import Referral
from referrals.tracking.retention import purge_personal_data

from .factories import (
    bearer,
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def api_world(session):
    glasgow = suite(session, "GLA-LR")
    trust = make_organisation(session, "Recovery Trust")
    service = make_service(
        session, organisation=trust, name="Trust Glasgow", email="t@trust.example"
    )
    make_service(session, name="Refuge", confidential_address=True, type_code="womens")
    officer = make_user(session, Role.CUSTODY, custody_suite=glasgow)
    referral = make_referral(session, service=service, referrer=officer)
    _c, custody_token = make_api_client(session, Role.CUSTODY, suites=[glasgow])
    _p, provider_token = make_api_client(session, Role.PROVIDER, organisation=trust)
    _r, reports_token = make_api_client(session, Role.LEAD)
    session.commit()
    return {
        "service": service,
        "organisation": trust,
        "referral": referral,
        "custody": custody_token,
        "provider": provider_token,
        "reports": reports_token,
    }


@pytest.fixture
def api_schema(app, api_world):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def known_ids(case, api_world) -> None:
    """Half the generated ids are replaced by real ones, so answers other than 404 are
    checked too."""
    generated = str((case.path_parameters or {}).get("id", ""))
    if not generated or len(generated) % 2:
        return
    path = case.path
    if path.startswith("/referrals"):
        known = api_world["referral"].uuid
    elif path.startswith("/organizations"):
        known = api_world["organisation"].uuid
    elif path.startswith("/service_at_locations"):
        known = api_world["service"].locations[0].uuid
    else:
        known = api_world["service"].uuid
    case.path_parameters["id"] = str(known)


def exercise(schema, api_world, headers: dict[str, str] | None = None) -> list[str]:
    """Send generated requests, valid and then invalid, to every operation of ``schema``;
    return the operations exercised."""
    exercised = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case):
                known_ids(case, api_world)
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                send()
            except Unsatisfiable:
                # Nothing about the operation can be made invalid (GET / has no inputs).
                assert mode == GenerationMode.NEGATIVE, operation.label
        exercised.append(operation.label)
    return exercised


def test_the_directory_behaves_as_described(api_schema, api_world):
    exercised = exercise(api_schema.exclude(path_regex="^/(referrals|reports)"), api_world)
    # Every directory operation (schemathesis leaves out the one serving the description).
    assert sorted(exercised) == sorted(
        f"GET {path}"
        for path in (
            "/",
            "/services",
            "/services/{id}",
            "/service_at_locations",
            "/service_at_locations/{id}",
            "/organizations",
            "/organizations/{id}",
            "/taxonomies",
            "/taxonomies/{id}",
            "/taxonomy_terms",
            "/taxonomy_terms/{id}",
        )
    )


def test_the_referral_api_behaves_as_described_for_a_custody_system(api_schema, api_world):
    exercised = exercise(
        api_schema.include(path_regex="^/referrals"), api_world, bearer(api_world["custody"])
    )
    assert len(exercised) == 5


def test_the_referral_api_behaves_as_described_for_a_provider_system(api_schema, api_world):
    exercised = exercise(
        api_schema.include(path_regex="^/referrals"), api_world, bearer(api_world["provider"])
    )
    assert len(exercised) == 5


def test_the_report_api_behaves_as_described_for_a_reports_system(api_schema, api_world):
    exercised = exercise(
        api_schema.include(path_regex="^/reports"), api_world, bearer(api_world["reports"])
    )
    assert sorted(exercised) == sorted(
        f"GET /reports{path}" for path in ("", "/areas", "/national", "/trends", "/quarterly")
    )


def test_a_referral_made_and_changed_through_the_api_is_as_described(api_schema, api_world):
    """The successful answers, which generated requests rarely reach."""
    create = api_schema["/referrals"]["POST"].Case(
        body={
            "service_id": str(api_world["service"].uuid),
            "pathway": "diversion",
            "custody_record_number": "GLA/26/000999",
            "age_band": "18_24",
            "sex": "male",
            "postcode_district": "G31",
            "consent_recorded": True,
            "contact_method": "text",
            "contact_phone": "07700 900789",
        },
        media_type="application/json",
    )
    made = create.call_and_validate(headers=bearer(api_world["custody"]), checks=CHECKS)
    assert made.status_code == 201
    referral_id = made.json()["id"]
    change = api_schema["/referrals/{id}/events"]["POST"].Case(
        path_parameters={"id": referral_id},
        body={"action": "accept", "version": 1, "note": "Seen at the hub."},
        media_type="application/json",
    )
    changed = change.call_and_validate(headers=bearer(api_world["provider"]), checks=CHECKS)
    assert changed.status_code == 201 and changed.json()["status"] == "accepted"
    # The same accept sent again is answered as the first (a lost answer); another change
    # made at the version before it is refused.
    again = change.call_and_validate(headers=bearer(api_world["provider"]), checks=CHECKS)
    assert again.status_code == 201 and again.json()["version"] == changed.json()["version"]
    stale = api_schema["/referrals/{id}/events"]["POST"].Case(
        path_parameters={"id": referral_id},
        body={
            "action": "decline",
            "version": 1,
            "reason": "no_capacity",
            "declined_by": "provider",
        },
        media_type="application/json",
    )
    refused = stale.call_and_validate(headers=bearer(api_world["provider"]), checks=CHECKS)
    assert refused.status_code == 409
    for path in ("/referrals/{id}", "/referrals/{id}/fhir"):
        read = api_schema[path]["GET"].Case(path_parameters={"id": referral_id})
        assert (
            read.call_and_validate(headers=bearer(api_world["custody"]), checks=CHECKS).status_code
            == 200
        )


def test_a_referral_whose_personal_data_was_erased_is_as_described(session, api_schema, api_world):
    old = today_local() - dt.timedelta(days=400)
    referral = api_world["referral"]
    referral.referred_on = referral.consent_date = old
    referral.status, referral.declined_on = ReferralStatus.DECLINED, old
    referral.declined_by, referral.decline_reason = "provider", "not_eligible"
    session.commit()
    assert purge_personal_data(session, 365, today_local(), now_utc(), dry_run=False).erased == 1
    # Referrals erased before children_in_household was kept hold null there too.
    session.execute(
        sa.update(Referral).where(Referral.id == referral.id).values(children_in_household=None)
    )
    session.commit()
    answers = {}
    for path in ("/referrals", "/referrals/{id}", "/referrals/{id}/fhir"):
        ids = {"id": str(referral.uuid)} if "{id}" in path else None
        read = api_schema[path]["GET"].Case(path_parameters=ids)
        answers[path] = read.call_and_validate(
            headers=bearer(api_world["provider"]), checks=CHECKS
        )
        assert answers[path].status_code == 200, path
    body = answers["/referrals/{id}"].json()
    assert body["personal_data_erased"] is True
    assert body["custody_record_number"] is None and body["children_in_household"] is None
    assert body["contact_method"] is None


def test_a_reports_system_asking_for_referrals_is_refused_as_described(api_schema, api_world):
    for path in ("/referrals", "/referrals/{id}", "/referrals/{id}/fhir"):
        ids = {"id": str(api_world["referral"].uuid)} if "{id}" in path else None
        case = api_schema[path]["GET"].Case(path_parameters=ids)
        answer = case.call_and_validate(headers=bearer(api_world["reports"]), checks=CHECKS)
        assert answer.status_code == 403, path


def _parameter(operation, name: str) -> dict:
    [found] = [p for p in operation.definition.raw["parameters"] if p["name"] == name]
    return found


def test_the_largest_page_of_minimal_services_is_within_the_description(api_schema, api_world):
    services = api_schema["/services"]["GET"]
    per_page = Draft202012Validator(_parameter(services, "per_page")["schema"])
    for size in (200, 5000):
        assert per_page.is_valid(size), size
        case = services.Case(query={"minimal": "true", "per_page": size})
        answer = case.call_and_validate(checks=CHECKS)
        assert answer.status_code == 200 and answer.json()["size"] == 2, size
    for query in ({"minimal": "true", "per_page": 5001}, {"per_page": 201}):
        refused = services.Case(query=query).call_and_validate(checks=CHECKS)
        assert refused.status_code == 400 and "per_page" in refused.json()["errors"], query
    assert not per_page.is_valid(5001)


def test_an_inactive_services_location_is_answered_as_described(
    session, api_schema, api_world, changes_listed_at_once
):
    gone = make_service(session, name="Closed Clinic", status=ServiceStatus.INACTIVE)
    session.commit()
    where = str(gone.locations[0].uuid)
    one = api_schema["/service_at_locations/{id}"]["GET"]
    assert "404" in one.definition.raw["responses"]
    missing = one.Case(path_parameters={"id": where}).call_and_validate(checks=CHECKS)
    assert missing.status_code == 404
    listing = api_schema["/service_at_locations"]["GET"]
    changed = listing.Case(query={"modified_after": "2000-01-01T00:00:00Z"})
    answer = changed.call_and_validate(checks=CHECKS)
    assert answer.status_code == 200 and answer.json()["contents"]
    assert where not in {item["id"] for item in answer.json()["contents"]}
    modified_after = _parameter(listing, "modified_after")["description"]
    assert "inactive service are never listed" in modified_after
    service = api_schema["/services/{id}"]["GET"].Case(path_parameters={"id": str(gone.uuid)})
    closed = service.call_and_validate(checks=CHECKS)
    assert closed.status_code == 200 and closed.json()["service_at_locations"] == []
