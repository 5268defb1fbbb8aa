"""The referral API: custody systems make referrals with the form's checks, providers'
case systems follow them through the lifecycle, and each sees only its role's scope."""

import base64
import datetime as dt
import json
import uuid
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, Referral, ReferralEvent

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
def world(session):
    glasgow, paisley, aberdeen = (suite(session, c) for c in ("GLA-LR", "PAI", "ABD-KB"))
    trust, other = make_organisation(session, "Recovery Trust"), make_organisation(session)
    service = make_service(
        session, organisation=trust, name="Trust Glasgow", phone="0141 496 0001"
    )
    elsewhere = make_service(session, organisation=other, name="Aberdeen Service")
    officer = make_user(session, Role.CUSTODY, custody_suite=glasgow)
    north_officer = make_user(session, Role.CUSTODY, custody_suite=aberdeen)
    west, west_token = make_api_client(session, Role.CUSTODY, suites=[glasgow, paisley])
    north, north_token = make_api_client(session, Role.CUSTODY, suites=[aberdeen])
    trust_system, trust_token = make_api_client(session, Role.PROVIDER, organisation=trust)
    _other_system, other_token = make_api_client(session, Role.PROVIDER, organisation=other)
    ours = make_referral(session, service=service, referrer=officer)
    theirs = make_referral(session, service=elsewhere, referrer=north_officer)
    session.commit()
    return {
        "service": service,
        "elsewhere": elsewhere,
        "west": west,
        "west_token": west_token,
        "north": north,
        "north_token": north_token,
        "trust_system": trust_system,
        "trust_token": trust_token,
        "other_token": other_token,
        "ours": ours,
        "theirs": theirs,
    }


def new_referral(world, **changes):
    body = {
        "service_id": str(world["service"].uuid),
        "custody_suite": "PAI",
        "pathway": "arrest_referral",
        "custody_record_number": "PAI/26/000123",
        "age_band": "25_34",
        "sex": "female",
        "postcode_district": "pa1",
        "consent_recorded": True,
        "substances": ["opioids", "benzodiazepines"],
        "needs": ["treatment", "housing"],
        "naloxone_offered": True,
        "contact_method": "phone",
        "contact_name": "Sam Example",
        "contact_phone": "07700 900456",
        "notes": "Prefers afternoons.",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_custody_system_makes_a_referral_as_the_form_would(client, session, world):
    response = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=bearer(world["west_token"])
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"] == f"/api/v1/referrals/{data['id']}"
    assert "Access-Control-Allow-Origin" not in response.headers
    made = session.scalar(sa.select(Referral).where(Referral.uuid == uuid.UUID(data["id"])))
    assert made.reference == data["reference"] and made.status.value == "made"
    assert made.custody_suite.code == "PAI" and made.referrer_id == world["west"].user_id
    assert made.postcode_district == "PA1" and made.council_area.code == "S12000038"
    assert made.consent_date == dt.date.today() and made.substances == "opioids,benzodiazepines"
    assert made.contact_phone == "07700 900456" and made.naloxone_offered
    assert data["events"][0]["to_status"] == "made"
    assert data["events"][0]["by"] == f"{world['west'].name} (API client)"
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "referral_created"))
    assert audit.user_id == world["west"].user_id and audit.object_id == str(made.id)


def test_a_person_the_services_listing_does_not_take_needs_confirming(client, session, world):
    """As on the form: a man to a service for women is asked about first (409, nothing
    made), and made when confirmed."""
    world["service"].gender = "female"
    session.commit()
    headers = bearer(world["west_token"])
    asked = client.post("/api/v1/referrals", json=new_referral(world, sex="male"), headers=headers)
    assert asked.status_code == 409
    assert "takes women only" in asked.get_json()["detail"]
    assert "confirm_eligibility" in asked.get_json()["detail"]
    assert count(session, Referral) == 2  # the two in the world
    confirmed = client.post(
        "/api/v1/referrals",
        json=new_referral(world, sex="male", confirm_eligibility=True),
        headers=headers,
    )
    assert confirmed.status_code == 201, confirmed.get_json()
    # The same person again: the duplicate is asked about first, then, confirmed, who
    # the service takes (not the duplicate again, which a system would send for ever).
    again = new_referral(world, sex="male", confirm_duplicate=True)
    asked = client.post("/api/v1/referrals", json=again, headers=headers)
    assert asked.status_code == 409 and "confirm_eligibility" in asked.get_json()["detail"]
    both = {**again, "confirm_eligibility": True}
    assert client.post("/api/v1/referrals", json=both, headers=headers).status_code == 201
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert "mobile number" in schema["NewReferral"]["description"]


def test_the_same_person_to_the_same_service_within_28_days_needs_confirming(
    client, session, world
):
    headers = bearer(world["west_token"])
    first = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/referrals", json=new_referral(world), headers=headers)
    assert again.status_code == 409
    problem = again.get_json()
    assert first.get_json()["reference"] in problem["detail"]
    assert "confirm_duplicate" in problem["detail"]
    assert count(session, Referral) == 3  # the two in the world and the first
    confirmed = client.post(
        "/api/v1/referrals", json=new_referral(world, confirm_duplicate=True), headers=headers
    )
    assert confirmed.status_code == 201, confirmed.get_json()
    made = session.scalar(
        sa.select(Referral).where(Referral.uuid == uuid.UUID(confirmed.get_json()["id"]))
    )
    assert made.possible_duplicate_of.reference == first.get_json()["reference"]


def test_another_suites_referral_of_the_person_is_neither_asked_about_nor_named(
    client, session, world
):
    """A system for other suites may not see that referral: the new one is made and
    flagged to the service, which sees both, and the answer names no other referral."""
    first = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=bearer(world["west_token"])
    )
    assert first.status_code == 201
    body = new_referral(world, custody_suite="ABD-KB", postcode_district="AB10")
    made = client.post("/api/v1/referrals", json=body, headers=bearer(world["north_token"]))
    assert made.status_code == 201, made.get_json()
    assert first.get_json()["reference"] not in made.get_data(as_text=True)
    new = session.scalar(
        sa.select(Referral).where(Referral.uuid == uuid.UUID(made.get_json()["id"]))
    )
    earlier = session.scalar(
        sa.select(Referral).where(Referral.uuid == uuid.UUID(first.get_json()["id"]))
    )
    assert new.possible_duplicate_of_id == earlier.id
    # The system working for both suites is asked, as about its own referral.
    again = client.post(
        "/api/v1/referrals",
        json=new_referral(world, custody_suite="GLA-LR"),
        headers=bearer(world["west_token"]),
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"consent_recorded": False}, "consent_recorded", "consent must be recorded"),
        ({"consent_recorded": ...}, "consent_recorded", "consent must be recorded"),
        ({"consent_date": "2020-01-01"}, "consent_date", "in the last 30 days"),
        ({"consent_date": "2026-02-30"}, "consent_date", "not a real date"),
        ({"consent_date": "03/02/2026"}, "consent_date", "written YYYY-MM-DD"),
        ({"consent_date": "today"}, "consent_date", "written YYYY-MM-DD"),
        ({"consent_date": "3 Feb 2026"}, "consent_date", "written YYYY-MM-DD"),
        ({"postcode_district": "ZZ99"}, "postcode_district", "We do not know that postcode"),
        ({"contact_phone": ...}, "contact_phone", "Enter a phone number"),
        ({"pathway": "teleport"}, "pathway", "Choose one of the options listed."),
        ({"custody_record_number": "x" * 41}, "custody_record_number", "at most 40"),
        ({"service_id": str(uuid.uuid4())}, "service_id", "must be the id of a service"),
        ({"custody_suite": ...}, "custody_suite", "Say which suite"),
        ({"custody_suite": "ABD-KB"}, "custody_suite", "must be one of this system's suites"),
        ({"consent_recorded": "yes"}, "consent_recorded", "must be true or false"),
        ({"substances": "opioids"}, "substances", "must be a list"),
        ({"consent": True}, "consent", "is not a field of a referral"),
        ({"council_area": "E09000001", "no_fixed_abode": True}, "council_area", "GSS code"),
    ],
)
def test_a_referral_the_form_would_refuse_is_refused(
    client, session, world, changes, field, message
):
    before = count(session, Referral)
    response = client.post(
        "/api/v1/referrals",
        json=new_referral(world, **changes),
        headers=bearer(world["west_token"]),
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert message.lower() in problem["errors"][field].lower(), problem
    assert count(session, Referral) == before


def test_a_service_that_does_not_take_custody_referrals_is_refused(client, session, world):
    closed = make_service(session, name="Drug checking", accepts_custody_referrals=False)
    session.commit()
    response = client.post(
        "/api/v1/referrals",
        json=new_referral(world, service_id=str(closed.uuid)),
        headers=bearer(world["west_token"]),
    )
    assert response.status_code == 422
    assert response.get_json()["errors"]["service_id"].startswith(
        "Drug checking does not take referrals from custody"
    )


def test_a_body_that_is_not_json_is_a_400(client, world):
    response = client.post(
        "/api/v1/referrals", data="pathway=x", headers=bearer(world["west_token"])
    )
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["detail"]


def test_provider_systems_cannot_make_referrals(client, session, world):
    response = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=bearer(world["trust_token"])
    )
    assert response.status_code == 403
    assert count(session, Referral) == 2


def test_each_system_sees_exactly_its_roles_referrals(client, world, changes_listed_at_once):
    ours, theirs = str(world["ours"].uuid), str(world["theirs"].uuid)
    sees = {
        "west_token": {ours},  # custody: its suites
        "north_token": {theirs},
        "trust_token": {ours},  # provider: referrals to its organisation's services
        "other_token": {theirs},
    }
    for token_name, visible in sees.items():
        headers = bearer(world[token_name])
        listed = client.get("/api/v1/referrals", headers=headers).get_json()
        assert {item["id"] for item in listed["contents"]} == visible, token_name
        for referral_id in (ours, theirs):
            expected = 200 if referral_id in visible else 404
            for suffix in ("", "/fhir"):
                url = f"/api/v1/referrals/{referral_id}{suffix}"
                assert client.get(url, headers=headers).status_code == expected, (url, token_name)
            change = client.post(
                f"/api/v1/referrals/{referral_id}/events",
                json={"action": "accept", "version": 1},
                headers=headers,
            )
            if referral_id not in visible:
                assert change.status_code == 404
    for unknown in (str(uuid.uuid4()), "not-an-id", str(world["ours"].id)):
        response = client.get(f"/api/v1/referrals/{unknown}", headers=bearer(world["west_token"]))
        assert response.status_code == 404
        assert response.get_json()["detail"] == "No referral with that id."


def test_reading_a_referral_is_audited_as_the_system(client, session, world):
    referral_id = world["ours"].uuid
    data = client.get(f"/api/v1/referrals/{referral_id}", headers=bearer(world["trust_token"]))
    assert data.get_json()["contact_name"] == "Alex Example"
    client.get(f"/api/v1/referrals/{referral_id}/fhir", headers=bearer(world["trust_token"]))
    views = session.execute(
        sa.select(AuditEvent.user_id, AuditEvent.detail).where(
            AuditEvent.action == "referral_viewed"
        )
    ).all()
    assert [json.loads(d) for _u, d in views] == [{"via": "api"}, {"as": "fhir", "via": "api"}]
    assert {u for u, _d in views} == {world["trust_system"].user_id}


def test_a_change_committed_after_a_later_one_is_not_left_behind_a_reader(
    app, client, session, world
):
    """Two saves: the first stamps its change a moment before the second but commits
    after it. A system asking for changes between the two commits, and next from the
    last change it was given, is given both: the list ends API_CHANGES_SETTLE_SECONDS
    ago, before either."""
    app.config["API_CHANGES_SETTLE_SECONDS"] = 10
    now = dt.datetime.now(dt.UTC)
    app.config["CLOCK"] = lambda: now
    headers = bearer(world["trust_token"])
    first = world["ours"]
    second = make_referral(session, service=world["service"], referrer=first.referrer)
    for referral in (first, second):  # both changed long ago
        session.execute(
            sa.update(Referral)
            .where(Referral.id == referral.id)
            .values(updated_at=now - dt.timedelta(days=1))
        )
    # The second save commits, stamped a second ago.
    session.execute(
        sa.update(Referral)
        .where(Referral.id == second.id)
        .values(updated_at=now - dt.timedelta(seconds=1))
    )
    session.commit()
    seen = client.get("/api/v1/referrals", headers=headers).get_json()["contents"]
    # Then the first, stamped two seconds ago.
    session.execute(
        sa.update(Referral)
        .where(Referral.id == first.id)
        .values(updated_at=now - dt.timedelta(seconds=2))
    )
    session.commit()
    since = quote(max(r["updated_at"] for r in seen))
    now += dt.timedelta(seconds=15)
    later = client.get(f"/api/v1/referrals?changed_since={since}", headers=headers)
    given = [r["reference"] for r in later.get_json()["contents"]]
    assert given == [first.reference, second.reference]


def test_the_list_gives_what_changed_since_a_time_oldest_first(client, session, world):
    base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    for minutes, referral in ((30, world["ours"]), (10, world["theirs"])):
        session.execute(
            sa.update(Referral)
            .where(Referral.id == referral.id)
            .values(updated_at=base + dt.timedelta(minutes=minutes))
        )
    extra = make_referral(
        session, service=world["service"], referrer=world["ours"].referrer, status="accepted"
    )
    session.execute(sa.update(Referral).where(Referral.id == extra.id).values(updated_at=base))
    session.commit()
    headers = bearer(world["trust_token"])
    listed = client.get("/api/v1/referrals", headers=headers).get_json()["contents"]
    assert [r["reference"] for r in listed] == [extra.reference, world["ours"].reference]
    since = client.get(
        "/api/v1/referrals?changed_since=2026-11-01T09:20:00Z", headers=headers
    ).get_json()
    assert [r["reference"] for r in since["contents"]] == [world["ours"].reference]
    assert since["total_items"] == 1 and "contact_name" not in since["contents"][0]
    accepted = client.get("/api/v1/referrals?status=accepted", headers=headers).get_json()
    assert [r["reference"] for r in accepted["contents"]] == [extra.reference]
    bad = client.get("/api/v1/referrals?changed_since=yesterday", headers=headers)
    assert bad.status_code == 400 and "changed_since" in bad.get_json()["errors"]
    listed_audit = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "api_referrals_listed")
    )
    assert listed_audit.user_id == world["trust_system"].user_id
    assert extra.reference in listed_audit.detail


def test_a_provider_system_follows_a_referral_to_treatment(client, session, world):
    referral_id = world["ours"].uuid
    headers = bearer(world["trust_token"])
    today = dt.date.today()
    steps = [
        ({"action": "accept", "version": 1}, "accepted", "accepted_on"),
        ({"action": "attend", "version": 2, "date": today.isoformat()}, "engaged", "engaged_on"),
        (
            {"action": "start_treatment", "version": 3, "note": "Started on methadone."},
            "treatment_started",
            "treatment_started_on",
        ),
    ]
    for body, status, column in steps:
        response = client.post(
            f"/api/v1/referrals/{referral_id}/events", json=body, headers=headers
        )
        assert response.status_code == 201, response.get_json()
        data = response.get_json()
        assert data["status"] == status and data[column] == today.isoformat()
        assert data["version"] == body["version"] + 1
    session.expire_all()
    events = session.scalars(
        sa.select(ReferralEvent).where(ReferralEvent.referral_id == world["ours"].id)
    ).all()
    assert [e.to_status.value for e in events] == [
        "made",
        "accepted",
        "engaged",
        "treatment_started",
    ]
    assert {e.user_id for e in events[1:]} == {world["trust_system"].user_id}
    assert events[-1].note == "Started on methadone."
    actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-3:] == ["referral_accept", "referral_attend", "referral_start_treatment"]


def test_a_stale_version_is_refused_with_409_and_changes_nothing(client, session, world):
    referral_id = world["ours"].uuid
    headers = bearer(world["trust_token"])
    first = client.post(
        f"/api/v1/referrals/{referral_id}/events",
        json={"action": "accept", "version": 1},
        headers=headers,
    )
    assert first.status_code == 201
    stale = client.post(
        f"/api/v1/referrals/{referral_id}/events",
        json={
            "action": "decline",
            "version": 1,
            "reason": "no_capacity",
            "declined_by": "provider",
        },
        headers=headers,
    )
    assert stale.status_code == 409
    assert stale.get_json()["errors"] == {"version": 2}
    session.expire_all()
    referral = session.get(Referral, world["ours"].id)
    assert referral.status.value == "accepted" and referral.declined_on is None
    assert count(session, ReferralEvent) == 3


@pytest.mark.parametrize(
    ("token", "body", "status", "message"),
    [
        ("trust_token", {"action": "attend", "version": 1}, 422, "must be accepted or declined"),
        (
            "trust_token",
            {"action": "accept", "version": 1, "date": "2099-01-01"},
            422,
            "cannot be in the future",
        ),
        ("trust_token", {"action": "decline", "version": 1}, 422, "Choose the reason"),
        ("trust_token", {"action": "reopen", "version": 1}, 403, "role cannot"),
        ("west_token", {"action": "accept", "version": 1}, 403, "role cannot"),
        (
            "west_token",
            {"action": "close", "version": 1, "reason": "completed"},
            422,
            "only close a referral as entered in error",
        ),
        ("trust_token", {"action": "accept"}, 422, "version"),
        ("trust_token", {"action": "accept", "version": True}, 422, "version"),
        ("trust_token", {"action": "fly", "version": 1}, 422, "must be one of accept"),
        (
            "trust_token",
            {"action": "accept", "version": 1, "date": "1/1/2026"},
            422,
            "Enter a date",
        ),
    ],
)
def test_the_lifecycle_rules_apply_to_systems(
    client, session, world, token, body, status, message
):
    response = client.post(
        f"/api/v1/referrals/{world['ours'].uuid}/events", json=body, headers=bearer(world[token])
    )
    assert response.status_code == status
    assert message.lower() in json.dumps(response.get_json()).lower()
    session.expire_all()
    assert session.get(Referral, world["ours"].id).status.value == "made"
    assert count(session, ReferralEvent) == 2


def test_a_custody_system_withdraws_a_referral_entered_in_error(client, session, world):
    response = client.post(
        f"/api/v1/referrals/{world['ours'].uuid}/events",
        json={"action": "close", "version": 1, "reason": "entered_in_error"},
        headers=bearer(world["west_token"]),
    )
    assert response.status_code == 201
    assert response.get_json()["close_reason"] == "entered_in_error"


def test_calls_without_a_good_token_are_refused(client, session, world):
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        bearer("junk"),
        bearer("rpk_ABCDEFGH_x"),
    ):
        response = client.get("/api/v1/referrals", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="referrals"'
        assert response.mimetype == "application/problem+json"
    refused = session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "api_token_refused")
    ).all()
    # Missing credentials are not worth a row; a wrong token is.
    assert [json.loads(d)["reason"] for d in refused] == ["malformed", "unknown"]


def test_referral_endpoints_never_answer_cross_origin_requests(client, world):
    headers = {**bearer(world["trust_token"]), "Origin": "https://elsewhere.example"}
    for method, url in (("GET", "/api/v1/referrals"), ("OPTIONS", "/api/v1/referrals")):
        response = client.open(url, method=method, headers=headers)
        assert "Access-Control-Allow-Origin" not in response.headers, (method, url)
    public = client.get("/api/v1/services", headers={"Origin": "https://elsewhere.example"})
    assert public.headers["Access-Control-Allow-Origin"] == "*"


def test_the_list_is_read_page_by_page_with_a_cursor_and_skips_nothing_changed_meanwhile(
    client, session, world
):
    base = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
    referrer = world["ours"].referrer
    made = [world["ours"]] + [
        make_referral(session, service=world["service"], referrer=referrer) for _ in range(5)
    ]
    # Two share a time: the id decides between them.
    minutes = [0, 10, 10, 20, 30, 40]
    for referral, minute in zip(made, minutes, strict=True):
        session.execute(
            sa.update(Referral)
            .where(Referral.id == referral.id)
            .values(updated_at=base + dt.timedelta(minutes=minute))
        )
    session.commit()
    in_order = [r.reference for r in made]
    headers = bearer(world["trust_token"])
    since = "changed_since=2026-11-01T08:00:00Z"

    first = client.get(f"/api/v1/referrals?{since}&per_page=2", headers=headers).get_json()
    assert [r["reference"] for r in first["contents"]] == in_order[:2]
    assert first["page_number"] == 1 and first["total_items"] == 6 and first["total_pages"] == 3
    assert first["next_cursor"] and first["last_page"] is False

    # Someone changes the first referral after page 1 was read: with page numbers it would
    # shift everything up one and the third referral would never be seen.
    session.execute(
        sa.update(Referral)
        .where(Referral.id == made[0].id)
        .values(updated_at=base + dt.timedelta(hours=2))
    )
    session.commit()
    seen = [r["reference"] for r in first["contents"]]
    page, cursor = first, first["next_cursor"]
    while cursor:
        page = client.get(
            f"/api/v1/referrals?{since}&per_page=2&cursor={cursor}", headers=headers
        ).get_json()
        seen += [r["reference"] for r in page["contents"]]
        cursor = page["next_cursor"]
    assert seen == [*in_order, in_order[0]]  # everything once, the changed one again last
    assert page["last_page"] is True and page["page_number"] == 4

    for query, field in (
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=MjAyNi0xMS0wMVQwOTowMDowMHwxfDI&page=2", "cursor"),
    ):
        answer = client.get(f"/api/v1/referrals?{query}", headers=headers)
        assert answer.status_code == 400, query
        assert field in answer.get_json()["errors"]


def test_bodies_and_values_that_cannot_be_read_or_stored_are_refused_not_errors(
    client, session, world
):
    """Each of these was a server error: a change's action sent as a list, JSON nested
    past what can be read, a lone surrogate (text no database can hold), a cursor naming
    an id past any database integer, and a token whose prefix holds a NUL."""
    custody, provider = bearer(world["west_token"]), bearer(world["trust_token"])
    events = f"/api/v1/referrals/{world['ours'].uuid}/events"
    for action in ([], {}, ["accept"]):
        answer = client.post(events, json={"action": action, "version": 1}, headers=provider)
        assert answer.status_code == 422 and "action" in answer.get_json()["errors"]
    nested = "[" * 100_000 + "]" * 100_000
    for url, headers in (("/api/v1/referrals", custody), (events, provider)):
        answer = client.post(
            url, data=nested, headers={**headers, "Content-Type": "application/json"}
        )
        assert answer.status_code == 400, url
        assert answer.mimetype == "application/problem+json"
    made = count(session, Referral)
    for field in ("contact_name", "custody_record_number", "notes"):
        body = json.loads(json.dumps(new_referral(world))[:-1] + f', "{field}": "\\ud800"}}')
        answer = client.post("/api/v1/referrals", json=body, headers=custody)
        assert answer.status_code == 422 and field in answer.get_json()["errors"], field
    note = {"action": "accept", "version": 1, "note": "\ud800"}
    assert client.post(events, json=note, headers=provider).status_code == 422
    assert count(session, Referral) == made
    huge = base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|9223372036854775808|2")
    answer = client.get(f"/api/v1/referrals?cursor={huge.decode()}", headers=custody)
    assert answer.status_code == 400 and "cursor" in answer.get_json()["errors"]
    answer = client.get("/api/v1/referrals", headers=bearer("rpk_\0\0\0\0\0\0\0\0_x"))
    assert answer.status_code == 401


def test_a_choice_sent_many_times_is_kept_once(client, session, world):
    body = new_referral(world, substances=["opioids", "alcohol"] * 40, needs=["treatment"] * 40)
    made = client.post("/api/v1/referrals", json=body, headers=bearer(world["west_token"]))
    assert made.status_code == 201, made.get_json()
    referral = session.scalar(
        sa.select(Referral).where(Referral.uuid == uuid.UUID(made.get_json()["id"]))
    )
    assert (referral.substances, referral.needs) == ("opioids,alcohol", "treatment")


def test_an_erased_persons_fhir_referral_names_no_identifier(client, session, world):
    world["ours"].person_ref = None
    session.commit()
    answer = client.get(
        f"/api/v1/referrals/{world['ours'].uuid}/fhir", headers=bearer(world["trust_token"])
    )
    assert answer.status_code == 200
    resources = [entry["resource"] for entry in answer.get_json()["entry"]]
    subjects = [r["subject"] for r in resources if "subject" in r]
    subjects += [r["for"] for r in resources if "for" in r]
    assert subjects and all(s == {"display": "Custody record (erased)"} for s in subjects)


def test_bad_tokens_sent_over_and_over_write_one_audit_row_a_minute(client, session, world):
    for _ in range(20):
        assert client.get("/api/v1/referrals", headers=bearer("rpk_ABCDEFGH_x")).status_code == 401
    refused = session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "api_token_refused")
    ).all()
    assert [json.loads(d)["reason"] for d in refused] == ["unknown"]


def test_a_refused_change_names_the_field_at_fault(client, session, world):
    """A system maps each error to its own field: a bad reason, a missing "declined by"
    and impossible dates are reported against those fields, not against the action."""
    provider = bearer(world["trust_token"])
    referral = world["ours"]
    events = f"/api/v1/referrals/{referral.uuid}/events"
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    before = (referral.referred_on - dt.timedelta(days=1)).isoformat()
    cases = [
        ({"action": "decline", "reason": "bored", "declined_by": "provider"}, "reason"),
        ({"action": "decline", "reason": "no_capacity"}, "declined_by"),
        ({"action": "close", "reason": "no_such_reason"}, "reason"),
        ({"action": "accept", "date": tomorrow}, "date"),
        ({"action": "accept", "date": before}, "date"),
        ({"action": "attend"}, "action"),  # not allowed from "made": the change itself
    ]
    for change, field in cases:
        answer = client.post(
            events, json={**change, "version": referral.version}, headers=provider
        )
        assert answer.status_code == 422, change
        assert list(answer.get_json()["errors"]) == [field], change
