"""The referral and report APIs answer with person-level data: no browser or proxy may
keep a copy of any of their answers (``Cache-Control: no-store``), refusals and errors
included. The public directory stays open to caches."""

import uuid

import pytest

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


@pytest.fixture
def systems(session):
    glasgow = suite(session, "GLA-LR")
    service = make_service(session, organisation=make_organisation(session), name="Trust Glasgow")
    referral = make_referral(
        session, service=service, referrer=make_user(session, Role.CUSTODY, custody_suite=glasgow)
    )
    _custody, custody_token = make_api_client(session, Role.CUSTODY, suites=[glasgow])
    _reports, reports_token = make_api_client(session, Role.LEAD, name="Analysts' system")
    session.commit()
    return {
        "referral": str(referral.uuid),
        "custody": bearer(custody_token),
        "reports": bearer(reports_token),
    }


def test_every_referral_api_answer_is_not_stored(client, systems):
    ours, custody = systems["referral"], systems["custody"]
    answers = {
        "the list": client.get("/api/v1/referrals", headers=custody),
        "a referral": client.get(f"/api/v1/referrals/{ours}", headers=custody),
        "its FHIR form": client.get(f"/api/v1/referrals/{ours}/fhir", headers=custody),
        "a referral refused": client.post("/api/v1/referrals", json={}, headers=custody),
        "no such referral": client.get(f"/api/v1/referrals/{uuid.uuid4()}", headers=custody),
        "no token": client.get(f"/api/v1/referrals/{ours}"),
        "a browser's preflight": client.options(
            "/api/v1/referrals", headers={"Origin": "https://elsewhere.example"}
        ),
    }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "the list": 200,
        "a referral": 200,
        "its FHIR form": 200,
        "a referral refused": 422,
        "no such referral": 404,
        "no token": 401,
        "a browser's preflight": 200,
    }
    for name, answer in answers.items():
        assert answer.headers.get("Cache-Control") == "no-store", name


def test_a_referral_api_answer_that_failed_is_not_stored(app, client, systems, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("referrals.api.referral_views.referral_full", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # answered as in production
    answer = client.get(f"/api/v1/referrals/{systems['referral']}", headers=systems["custody"])
    assert answer.status_code == 500
    assert answer.headers.get("Cache-Control") == "no-store"


@pytest.mark.parametrize(
    "path", ["", "/areas", "/national", "/quarterly", "/trends?area=S12000049", "/nowhere"]
)
def test_every_report_api_answer_is_not_stored(client, systems, path):
    url = f"/api/v1/reports{path}"
    for headers in (systems["reports"], systems["custody"], {}):
        answer = client.get(url, headers=headers)
        assert answer.headers.get("Cache-Control") == "no-store", (url, answer.status_code)


def test_the_public_directory_may_still_be_cached(client, systems):
    for url in ("/api/v1/services", "/api/v1/openapi.json"):
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert "no-store" not in answer.headers.get("Cache-Control", ""), url
