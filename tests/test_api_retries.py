"""A connecting system that loses an answer sends the request again: the referral API
answers it as the first time and makes nothing more. A new referral is named by the
request's Idempotency-Key (its own to each system); a status change is known as the one
this system made a moment ago, as the referral's page knows a form sent twice."""

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.api import referral_views
from referrals.choices import Role
from referrals.models import AuditEvent, Referral, ReferralEvent

from . import test_api_referrals
from .factories import bearer, make_api_client
from .test_api_referrals import count, new_referral

world = test_api_referrals.world  # the same systems, suites and referrals

KEY = "0b6f7a52-2c1e-4d59-9a1d-6f1c3f1c9e42"


def keyed(token: str, key: str = KEY) -> dict[str, str]:
    return bearer(token) | {"Idempotency-Key": key}


@pytest.mark.parametrize("confirm_duplicate", [..., True])
def test_a_new_referral_sent_again_with_its_key_is_made_once_and_answered_as_first(
    client, session, world, confirm_duplicate
):
    body = new_referral(world, confirm_duplicate=confirm_duplicate)
    headers = keyed(world["west_token"])
    first = client.post("/api/v1/referrals", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/referrals", json=body, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert count(session, Referral) == 3  # the two in the world and this one
    created = sa.select(sa.func.count()).where(AuditEvent.action == "referral_created")
    assert session.scalar(created) == 1
    stored = session.scalar(
        sa.select(Referral.form_token).where(Referral.reference == first.get_json()["reference"])
    )
    assert stored and KEY not in stored  # a digest, not the system's own key


def test_a_referral_sent_again_without_a_key_is_still_asked_about_as_a_duplicate(
    client, session, world
):
    headers = bearer(world["west_token"])
    assert (
        client.post("/api/v1/referrals", json=new_referral(world), headers=headers).status_code
        == 201
    )
    again = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    assert again.status_code == 409 and "confirm_duplicate" in again.get_json()["detail"]


def test_another_systems_referral_with_the_same_key_is_not_taken_for_a_repeat(
    client, session, world
):
    west = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=keyed(world["west_token"])
    )
    assert west.status_code == 201, west.get_json()
    north_body = new_referral(world, custody_suite="ABD-KB", custody_record_number="ABD/26/1")
    north = client.post("/api/v1/referrals", json=north_body, headers=keyed(world["north_token"]))
    assert north.status_code == 201, north.get_json()
    assert north.get_json()["id"] != west.get_json()["id"]
    assert north.get_json()["custody_suite"] == "ABD-KB"
    again = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=keyed(world["west_token"])
    )
    assert again.status_code == 201 and again.get_json()["id"] == west.get_json()["id"]
    assert count(session, Referral) == 4


def test_the_same_key_sent_at_the_same_moment_answers_the_referral_made_first(
    client, session, world, monkeypatch
):
    """Both requests find no referral with the key; the second's save meets the first's
    (the unique form token) and answers it. The suite is the system's second, not the
    one its account is filed under."""
    headers = keyed(world["west_token"])
    first = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    assert first.status_code == 201
    looked_up = referral_views._made_with_key
    calls = []

    def not_yet_the_first_time(token):
        calls.append(token)
        return None if len(calls) == 1 else looked_up(token)

    monkeypatch.setattr(referral_views, "_made_with_key", not_yet_the_first_time)
    body = new_referral(world, confirm_duplicate=True)
    again = client.post("/api/v1/referrals", json=body, headers=headers)
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(session, Referral) == 3


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_a_key_that_cannot_be_kept_is_refused_naming_the_header(client, session, world, key):
    response = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=keyed(world["west_token"], key)
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.get_json()["detail"]
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert count(session, Referral) == 2


def test_a_key_of_64_characters_is_kept(client, session, world):
    headers = keyed(world["west_token"], "k" * 64)
    first = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    again = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]


def accept(client, world, token: str, version: int = 1):
    return client.post(
        f"/api/v1/referrals/{world['ours'].uuid}/events",
        json={"action": "accept", "version": version},
        headers=bearer(token),
    )


def test_an_accept_sent_again_after_a_lost_answer_answers_the_referral(client, session, world):
    first = accept(client, world, world["trust_token"])
    assert first.status_code == 201
    again = accept(client, world, world["trust_token"])
    assert again.status_code == 201, again.get_json()
    assert again.get_json()["status"] == "accepted"
    assert again.get_json()["version"] == first.get_json()["version"]
    assert count(session, ReferralEvent) == 3  # the two in the world and one accept


def test_an_accept_another_system_made_first_is_still_a_409(client, session, world):
    _colleague, colleague_token = make_api_client(
        session, Role.PROVIDER, organisation=world["service"].organisation
    )
    session.commit()
    assert accept(client, world, colleague_token).status_code == 201
    ours = accept(client, world, world["trust_token"])
    assert ours.status_code == 409
    assert ours.get_json()["errors"] == {"version": 2}
    assert count(session, ReferralEvent) == 3


def test_the_same_change_sent_again_minutes_later_is_a_409(client, session, world, monkeypatch):
    """Two minutes on, it is no longer taken for the same request sent again."""
    assert accept(client, world, world["trust_token"]).status_code == 201
    later = referral_views.now_utc() + dt.timedelta(minutes=3)
    monkeypatch.setattr(referral_views, "now_utc", lambda: later)
    assert accept(client, world, world["trust_token"]).status_code == 409
