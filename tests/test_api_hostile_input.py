"""Hostile input to the API never makes a 500 (on PostgreSQL, text cannot hold NUL)."""

import pytest

from referrals.choices import Role

from .factories import bearer, make_api_client, make_service, suite

HOSTILE = ["\x00", "a\x00b", "%", "_", "\\", "' OR 1=1 --", "x" * 5000]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_query_values_are_answered_not_crashed_on(client, session, value):
    make_service(session, name="Clinic")
    session.commit()
    for name in ("search", "postcode", "taxonomy_term_id", "modified_after", "page", "type"):
        for url in ("/api/v1/services", "/api/v1/service_at_locations", "/api/v1/organizations"):
            response = client.get(url, query_string={name: value})
            assert response.status_code in (200, 400), (url, name, response.status_code)


@pytest.mark.parametrize("value", ["\x00", "a\x00b"])
def test_nul_in_a_referral_is_refused_with_a_message(client, session, value):
    service = make_service(session, name="Clinic")
    _c, token = make_api_client(session, Role.CUSTODY, suites=[suite(session, "GLA-LR")])
    session.commit()
    for field in ("notes", "custody_record_number", "contact_name"):
        body = {
            "service_id": str(service.uuid),
            "pathway": "arrest_referral",
            "custody_record_number": "CR/1",
            "age_band": "25_34",
            "sex": "male",
            "postcode_district": "G31",
            "consent_recorded": True,
            "contact_method": "letter",
            "contact_name": "Sam",
            field: value,
        }
        response = client.post("/api/v1/referrals", json=body, headers=bearer(token))
        assert response.status_code == 422, (field, response.get_json())
        assert field in response.get_json()["errors"]


def test_nul_in_a_status_change_is_refused_with_a_message(client, session):
    from .factories import make_organisation, make_referral, make_user

    org = make_organisation(session)
    service = make_service(session, organisation=org)
    officer = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    referral = make_referral(session, service=service, referrer=officer)
    _c, token = make_api_client(session, Role.PROVIDER, organisation=org)
    session.commit()
    for body in (
        {"action": "accept", "version": 1, "note": "a\x00b"},
        {"action": "accept", "version": 1, "date": "2026-01-01\x00"},
        {"action": "decline", "version": 1, "reason": "\x00", "declined_by": "provider"},
    ):
        response = client.post(
            f"/api/v1/referrals/{referral.uuid}/events", json=body, headers=bearer(token)
        )
        assert response.status_code == 422, response.get_json()
