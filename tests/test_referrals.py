"""Making referrals and following them: the form, the lifecycle, dates, concurrent edits,
the worklist and list, the audit trail and retention."""

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import ReferralStatus, Role
from referrals.models import AppendOnlyError, AuditEvent, Referral, ReferralEvent
from referrals.reports.figures import Settings, build

from .conftest import csrf_token
from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import next_code, sign_in


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    other = make_organisation(session, "Org Y")
    data = {
        "service": make_service(
            session, organisation=org, name="Glasgow MAT", lat=55.856, lon=-4.21
        ),
        "other_service": make_service(session, organisation=other, name="Elsewhere"),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "provider": make_user(session, Role.PROVIDER, email="p@t.example", organisation=org),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return data


def referral_form(service, **changes):
    data = {
        "service_id": str(service),
        "pathway": "arrest_referral",
        "person_ref": "GLA/26/001234",
        "age_band": "25_34",
        "sex": "male",
        "postcode_district": "g31",
        "council_area_id": "",
        "consent_recorded": "y",
        "consent_date": dt.date.today().isoformat(),
        "substances": ["opioids", "benzodiazepines"],
        "needs": ["treatment", "housing"],
        "naloxone_supplied": "y",
        "contact_method": "phone",
        "contact_name": "Alex Example",
        "contact_phone": "07700 900123",
        "notes": "Prefers mornings.",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def actions(session):
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


# -- making a referral --------------------------------------------------------------------


def test_custody_worker_makes_a_referral(client, session, people, today):
    sign_in(client, "c@t.example")
    html = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    assert "Glasgow MAT" in html and "Make the referral" in html
    response = client.post("/referrals/new", data=referral_form(people["service"].id))
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    assert response.location == f"/referrals/{referral.id}/made"
    assert re.fullmatch(r"RP-[0-9A-Z]{4}-[0-9A-Z]{4}", referral.reference)
    assert referral.status == ReferralStatus.MADE and referral.referred_on == today
    assert referral.council_area.name == "Glasgow City"  # from the district G31
    assert referral.postcode_district == "G31"
    assert referral.naloxone_offered and referral.naloxone_supplied  # supplied means offered
    assert referral.substances == "opioids,benzodiazepines"
    assert referral.custody_suite.code == "GLA-LR"
    [event] = referral.events
    assert (event.from_status, event.to_status, event.user_id) == (
        None,
        ReferralStatus.MADE,
        people["custody"].id,
    )
    page = client.get(response.location).get_data(as_text=True)
    assert referral.reference in page and "Referral made" in page
    assert "Child protection" not in page
    created, viewed = session.scalars(
        sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(2)
    ).all()[::-1]
    assert (created.action, created.object_id) == ("referral_created", str(referral.id))
    assert (viewed.action, viewed.object_id) == ("referral_viewed", str(referral.id))


def test_children_in_household_shows_the_child_protection_note(client, session, people):
    sign_in(client, "c@t.example")
    form_page = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    assert "Child protection." in form_page  # shown by CSS when the box is ticked
    response = client.post(
        "/referrals/new",
        data=referral_form(people["service"].id, children_in_household="y"),
        follow_redirects=True,
    )
    assert "Child protection." in response.get_data(as_text=True)
    referral = session.scalar(sa.select(Referral))
    assert referral.children_in_household
    sign_in_provider = client.post("/logout")
    assert sign_in_provider.status_code == 302
    sign_in(client, "p@t.example")
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Child protection." in detail
    assert "Children in household" in client.get("/worklist").get_data(as_text=True)


def test_consent_is_required_and_nothing_is_saved_without_it(client, session, people):
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new",
        data=referral_form(people["service"].id, consent_recorded=None, notes="Keep this text"),
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "consent must be recorded. A referral cannot be made without it" in html
    assert "nothing has been saved yet" in html
    assert "Keep this text" in html and 'value="GLA/26/001234"' in html  # kept as typed
    assert count(session, Referral) == 0 and count(session, ReferralEvent) == 0
    assert "referral_created" not in actions(session)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"person_ref": ""}, "Enter the custody record number."),
        ({"age_band": ""}, "Choose the person&#39;s age band."),
        ({"pathway": None}, "Choose the pathway."),
        ({"postcode_district": "ZZ9"}, "We do not know that postcode district."),
        ({"postcode_district": ""}, "Enter the postcode district (like G31), or tick"),
        ({"postcode_district": "", "no_fixed_abode": "y"}, "Choose the council area where"),
        ({"consent_date": "2099-01-01"}, "The consent date cannot be in the future."),
        ({"consent_date": "31/2/2026"}, "February 2026 has 28 days, so 31 February 2026 is not"),
        ({"consent_date": "11/22/2026"}, "Dates go day first: 22/11/2026 for 22 November."),
        ({"contact_phone": ""}, "Enter a phone number, or choose another way"),
        ({"contact_phone": "call me"}, "Use only digits"),
        ({"service_id": ""}, "Choose the service to refer to."),
    ],
)
def test_bad_referrals_are_refused_with_a_clear_message(client, session, people, changes, message):
    sign_in(client, "c@t.example")
    response = client.post("/referrals/new", data=referral_form(people["service"].id, **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(session, Referral) == 0


@pytest.mark.parametrize(
    ("changes", "message", "not_also"),
    [
        ({"postcode_district": "G31 2AB NORTH"}, "We do not know that postcode district.", None),
        ({"contact_name": "x" * 201}, "Keep the name under 200 characters.", None),
        ({"consent_date": "31/2/2026"}, "is not", "Enter the date consent was given."),
        ({"age_band": "bogus"}, "Choose one of the options listed.", None),
        ({"contact_method": "pigeon"}, "Choose one of the options listed.", None),
    ],
)
def test_every_message_says_how_to_put_it_right_and_none_contradicts_another(
    client, session, people, changes, message, not_also
):
    """WTForms' own words ("Field cannot be longer than 8 characters.", "Not a valid
    choice.") never reach an officer, and a date that is not a real one is not also
    called missing."""
    sign_in(client, "c@t.example")
    response = client.post("/referrals/new", data=referral_form(people["service"].id, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and message in html
    assert "Field cannot be longer" not in html and "Not a valid choice" not in html
    assert not_also is None or not_also not in html
    assert count(session, Referral) == 0


def test_no_fixed_abode_with_a_chosen_council(client, session, people):
    sign_in(client, "c@t.example")
    fife = session.scalar(sa.text("SELECT id FROM council_areas WHERE name = 'Fife'"))
    response = client.post(
        "/referrals/new",
        data=referral_form(
            people["service"].id,
            postcode_district="",
            no_fixed_abode="y",
            council_area_id=str(fife),
        ),
    )
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    assert referral.postcode_district is None and referral.council_area.name == "Fife"


def _council_name(session, council_id: str) -> str:
    return session.scalar(
        sa.text("SELECT name FROM council_areas WHERE id = :id"), {"id": council_id}
    )


def _shown_council(html: str) -> tuple[str, str]:
    """The council the form shows as chosen, and the district it says it was filled from."""
    select = re.search(r'<select[^>]*id="council_area_id".*?</select>', html, re.S)[0]
    chosen = re.search(
        r'<option[^>]*selected[^>]*value="(\d+)"|<option[^>]*value="(\d+)"[^>]*selected', select
    )
    filled = re.search(
        r'id="council_filled_for"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*id="council_filled_for"',
        html,
    )
    return next(g for g in chosen.groups() if g), next((g for g in filled.groups() if g), "")


def test_a_corrected_district_fills_the_council_in_again(client, session, people):
    """The form came back for another mistake with the council filled in from G31; the
    officer then corrects the district: the council follows it, not the first guess."""
    sign_in(client, "c@t.example")
    service = people["service"].id
    first = client.post("/referrals/new", data=referral_form(service, contact_phone=""))
    assert first.status_code == 400
    council, filled_for = _shown_council(first.get_data(as_text=True))
    assert _council_name(session, council) == "Glasgow City" and filled_for == "G31"
    again = referral_form(
        service, postcode_district="EH6", council_area_id=council, council_filled_for=filled_for
    )
    assert client.post("/referrals/new", data=again).status_code == 302
    referral = session.scalar(sa.select(Referral))
    assert referral.postcode_district == "EH6"
    assert referral.council_area.name == "City of Edinburgh"


def test_a_council_the_officer_chose_is_kept_when_the_district_changes(client, session, people):
    sign_in(client, "c@t.example")
    fife = str(session.scalar(sa.text("SELECT id FROM council_areas WHERE name = 'Fife'")))
    data = referral_form(
        people["service"].id,
        postcode_district="EH6",
        council_area_id=fife,
        council_filled_for="G31",
    )
    assert client.post("/referrals/new", data=data).status_code == 302
    assert session.scalar(sa.select(Referral)).council_area.name == "Fife"


def test_self_presenting_needs_no_contact_details(client, session, people):
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new",
        data=referral_form(
            people["service"].id,
            contact_method="self_present",
            contact_phone="",
            contact_name="Should not be kept",
        ),
    )
    assert response.status_code == 302
    referral = session.scalar(sa.select(Referral))
    assert referral.contact_name is None and referral.contact_phone is None


def test_without_a_service_the_nearest_suitable_ones_are_offered(client, session, people):
    make_service(
        session, name="No Custody Here", lat=55.857, lon=-4.21, accepts_custody_referrals=False
    )
    session.commit()
    sign_in(client, "c@t.example")
    html = client.get("/referrals/new").get_data(as_text=True)
    assert "Nearest services taking custody referrals" in html
    assert "Glasgow MAT" in html and "No Custody Here" not in html
    # Looking up a district fills the council area and saves nothing.
    response = client.post(
        "/referrals/new",
        data=referral_form("", service_id=None, postcode_district="g31", lookup="1"),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "to postcode district G31" in html
    glasgow = session.scalar(sa.text("SELECT id FROM council_areas WHERE name = 'Glasgow City'"))
    assert f'<option selected value="{glasgow}">' in html or (
        f'value="{glasgow}" selected' in html
    )
    assert count(session, Referral) == 0
    # Choosing one of the offered services makes the referral.
    response = client.post(
        "/referrals/new",
        data=referral_form("", service_id=None, chosen_service=str(people["service"].id)),
    )
    assert response.status_code == 302
    assert session.scalar(sa.select(Referral)).service_id == people["service"].id


def test_a_service_refusing_custody_referrals_cannot_be_chosen(client, session, people):
    refusing = make_service(session, name="Refuser", accepts_custody_referrals=False)
    session.commit()
    sign_in(client, "c@t.example")
    html = client.get(f"/referrals/new?service={refusing.id}").get_data(as_text=True)
    assert "does not take referrals from custody" in html
    response = client.post("/referrals/new", data=referral_form(refusing.id))
    assert response.status_code == 400 and count(session, Referral) == 0


def test_referral_form_needs_a_csrf_token(app_factory, session, people):
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    html = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "email": "c@t.example",
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(html),
        },
    )
    html = client.get("/login/verify").get_data(as_text=True)
    code = next_code(client.application, "c@t.example")
    client.post("/login/verify", data={"code": code, "csrf_token": csrf_token(html)})
    response = client.post("/referrals/new", data=referral_form(people["service"].id))
    assert response.status_code == 400
    assert count(session, Referral) == 0
    page = client.get(f"/referrals/new?service={people['service'].id}").get_data(as_text=True)
    data = referral_form(people["service"].id, csrf_token=csrf_token(page))
    assert client.post("/referrals/new", data=data).status_code == 302


# -- the lifecycle ------------------------------------------------------------------------


@pytest.fixture
def referral(session, people, today):
    made = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=20),
    )
    session.commit()
    return made


def act(client, referral_id, action, version, on=None, **extra):
    data = {f"{action}-version": str(version)}
    if on is not None:
        data[f"{action}-on"] = on.isoformat() if isinstance(on, dt.date) else on
    data.update({f"{action}-{k}": v for k, v in extra.items()})
    return client.post(f"/referrals/{referral_id}/{action}", data=data)


def current(session, referral_id):
    session.expire_all()
    return session.get(Referral, referral_id)


def test_the_whole_lifecycle(client, session, people, referral, today):
    sign_in(client, "p@t.example")
    base = referral.referred_on
    steps = [
        ("accept", base + dt.timedelta(days=1), {}, ReferralStatus.ACCEPTED, "accepted_on"),
        ("attend", base + dt.timedelta(days=5), {}, ReferralStatus.ENGAGED, "engaged_on"),
        (
            "start_treatment",
            base + dt.timedelta(days=12),
            {},
            ReferralStatus.TREATMENT_STARTED,
            "treatment_started_on",
        ),
        (
            "close",
            base + dt.timedelta(days=19),
            {"reason": "completed"},
            ReferralStatus.CLOSED,
            "closed_on",
        ),
    ]
    for version, (action, on, extra, status, column) in enumerate(steps, start=1):
        response = act(client, referral.id, action, version, on, note=f"{action} note", **extra)
        assert response.status_code == 302, response.get_data(as_text=True)
        saved = current(session, referral.id)
        assert saved.status == status and getattr(saved, column) == on
        assert saved.version == version + 1
    saved = current(session, referral.id)
    assert saved.close_reason == "completed"
    trail = [(e.from_status, e.to_status, e.event_date, e.note) for e in saved.events]
    assert trail == [
        (None, "made", base, None),
        ("made", "accepted", base + dt.timedelta(days=1), "accept note"),
        ("accepted", "engaged", base + dt.timedelta(days=5), "attend note"),
        ("engaged", "treatment_started", base + dt.timedelta(days=12), "start_treatment note"),
        ("treatment_started", "closed", base + dt.timedelta(days=19), "close note"),
    ]
    assert all(e.user_id == people["provider"].id for e in saved.events[1:])
    html = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    for text in ("Timeline", "Treatment started", "Completed", "close note"):
        assert text in html


# From each state, every action that must be refused (and the ones allowed).
LEGAL = {
    "made": {"accept", "decline", "close"},
    "accepted": {"attend", "close"},
    "engaged": {"start_treatment", "close"},
    "treatment_started": {"close"},
    "declined": {"reopen"},
    "closed": {"reopen"},
}
PATHS = {
    "made": [],
    "accepted": [("accept", {})],
    "engaged": [("accept", {}), ("attend", {})],
    "treatment_started": [("accept", {}), ("attend", {}), ("start_treatment", {})],
    "declined": [("decline", {"reason": "no_capacity", "declined_by": "provider"})],
    "closed": [("close", {"reason": "not_contactable"})],
}
REASONS = {
    "decline": {"reason": "not_eligible", "declined_by": "person"},
    "close": {"reason": "moved_area"},
    "reopen": {"note": "Closed by mistake"},
}


@pytest.mark.parametrize("state", list(LEGAL))
@pytest.mark.parametrize(
    "action", ["accept", "decline", "attend", "start_treatment", "close", "reopen"]
)
def test_every_legal_and_illegal_transition(client, session, people, referral, state, action):
    sign_in(client, "a@t.example")  # admins may make every kind of change
    on = referral.referred_on + dt.timedelta(days=1)
    for version, (step, extra) in enumerate(PATHS[state], start=1):
        assert act(client, referral.id, step, version, on, **extra).status_code == 302
    version = len(PATHS[state]) + 1
    response = act(client, referral.id, action, version, on, **REASONS.get(action, {}))
    saved = current(session, referral.id)
    if action in LEGAL[state]:
        assert response.status_code == 302, response.get_data(as_text=True)
        assert saved.events[-1].from_status == state
        assert saved.version == version + 1
    else:
        assert response.status_code == 400
        assert "That change was not saved" in response.get_data(as_text=True)
        assert saved.status == state and saved.version == version
        assert len(saved.events) == len(PATHS[state]) + 1


def test_reopen_returns_to_where_it_was_and_only_admins_may(client, session, people, referral):
    on = referral.referred_on + dt.timedelta(days=2)
    sign_in(client, "p@t.example")
    act(client, referral.id, "accept", 1, on)
    act(client, referral.id, "close", 2, on, reason="not_contactable")
    assert act(client, referral.id, "reopen", 3, on, note="x").status_code == 403
    client.post("/logout")
    sign_in(client, "a@t.example")
    response = act(client, referral.id, "reopen", 3, on)
    assert "Say why the referral is being reopened." in response.get_data(as_text=True)
    assert act(client, referral.id, "reopen", 3, on, note="Closed in error").status_code == 302
    saved = current(session, referral.id)
    assert saved.status == "accepted" and saved.closed_on is None and saved.close_reason is None


def test_decline_records_the_reason_and_who_declined(client, session, people, referral):
    sign_in(client, "p@t.example")
    on = referral.referred_on + dt.timedelta(days=1)
    response = act(client, referral.id, "decline", 1, on, reason="outside_area")
    assert "Say who declined" in response.get_data(as_text=True)
    response = act(client, referral.id, "decline", 1, on, declined_by="person")
    assert "Choose the reason the referral is declined." in response.get_data(as_text=True)
    act(client, referral.id, "decline", 1, on, reason="person_declined", declined_by="person")
    saved = current(session, referral.id)
    assert (saved.status, saved.declined_by, saved.decline_reason, saved.declined_on) == (
        "declined",
        "person",
        "person_declined",
        on,
    )


@pytest.mark.parametrize(
    ("setup", "action", "on_offset", "message"),
    [
        ([], "accept", 30, "The date cannot be in the future."),
        ([], "accept", -1, "The date cannot be before the referral was made"),
        ([("accept", 5)], "attend", 3, "The date cannot be before the referral was accepted"),
        (
            [("accept", 2), ("attend", 6)],
            "start_treatment",
            4,
            "The date cannot be before the first attendance",
        ),
        (
            [("accept", 2), ("attend", 6), ("start_treatment", 9)],
            "close",
            8,
            "The date cannot be before treatment started",
        ),
        ([], "accept", "soon", "Enter a date like 27/11/2026 or 27 Nov 2026."),
    ],
)
def test_date_rules(client, session, people, referral, today, setup, action, on_offset, message):
    sign_in(client, "p@t.example")
    base = referral.referred_on
    for version, (step, offset) in enumerate(setup, start=1):
        assert (
            act(client, referral.id, step, version, base + dt.timedelta(days=offset)).status_code
            == 302
        )
    on = on_offset if isinstance(on_offset, str) else base + dt.timedelta(days=on_offset)
    extra = {"reason": "completed"} if action == "close" else {}
    response = act(client, referral.id, action, len(setup) + 1, on, **extra)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert current(session, referral.id).version == len(setup) + 1


def test_custody_staff_may_only_withdraw_a_referral_entered_in_error(
    client, session, people, referral
):
    sign_in(client, "c@t.example")
    on = referral.referred_on
    response = act(client, referral.id, "close", 1, on, reason="disengaged")
    assert "Custody staff can only close a referral as entered in error" in response.get_data(
        as_text=True
    )
    assert act(client, referral.id, "close", 1, on, reason="entered_in_error").status_code == 302
    assert current(session, referral.id).close_reason == "entered_in_error"


def test_concurrent_edits_are_refused_not_overwritten(client, app, session, people, referral):
    sign_in(client, "p@t.example")
    other = app.test_client()
    sign_in(other, "p@t.example")
    on = referral.referred_on + dt.timedelta(days=1)
    # Both had the page open at version 1; the first to submit wins.
    assert (
        act(
            client, referral.id, "decline", 1, on, reason="no_capacity", declined_by="provider"
        ).status_code
        == 302
    )
    response = act(other, referral.id, "accept", 1, on)
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "This referral was changed by someone else" in html
    assert "Here is the current state" in html and "Declined" in html
    saved = current(session, referral.id)
    assert saved.status == "declined" and saved.version == 2 and len(saved.events) == 2


def test_events_are_append_only(session, people, referral):
    event = referral.events[0]
    event.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()
    session.delete(session.get(ReferralEvent, event.id))
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()


# -- lists -----------------------------------------------------------------------------


def test_worklist_sections_counts_and_one_click_actions(client, session, people, today):
    service, custody = people["service"], people["custody"]
    monday = today - dt.timedelta(days=today.weekday())
    old = make_referral(
        session, service=service, referrer=custody, referred_on=monday - dt.timedelta(days=14)
    )
    new = make_referral(session, service=service, referrer=custody, referred_on=today)
    accepted = make_referral(
        session,
        service=service,
        referrer=custody,
        referred_on=today - dt.timedelta(days=3),
        status="accepted",
        accepted_on=today - dt.timedelta(days=2),
    )
    engaged = make_referral(
        session,
        service=service,
        referrer=custody,
        referred_on=today - dt.timedelta(days=9),
        status="engaged",
        accepted_on=today - dt.timedelta(days=8),
        engaged_on=today - dt.timedelta(days=6),
    )
    make_referral(session, service=people["other_service"], referrer=custody)
    session.commit()
    sign_in(client, "p@t.example")
    html = client.get("/worklist").get_data(as_text=True)
    for title in (
        "Overdue: no response within 5 working days (1)",
        "New: awaiting acceptance (1)",
        "Awaiting first attendance (1)",
        "Awaiting treatment start (1)",
    ):
        assert title in html
    for r in (old, new, accepted, engaged):
        assert r.reference in html
    # Nothing sent to another organisation's services.
    assert len(set(re.findall(r"RP-\w{4}-\w{4}", html))) == 4
    response = client.post(
        f"/referrals/{new.id}/accept",
        data={"accept-version": "1", "accept-on": today.isoformat(), "back": "worklist"},
    )
    assert response.status_code == 302 and response.location == "/worklist"
    assert current(session, new.id).accepted_on == today


def test_overdue_is_shown_to_the_referrer_too(client, session, people, today):
    make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=21),
    )
    session.commit()
    sign_in(client, "c@t.example")
    html = client.get("/referrals").get_data(as_text=True)
    assert "Overdue" in html
    assert "1 referral" in client.get("/referrals?overdue=1").get_data(as_text=True)


def test_referral_list_search(client, session, people, today):
    first = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=40),
        person_ref="GLA/26/7777",
    )
    make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=today
    )
    session.commit()
    sign_in(client, "c@t.example")
    assert "2 referrals" in client.get("/referrals").get_data(as_text=True)
    typed = first.reference.lower().replace("-", " ")
    html = client.get(f"/referrals?reference={typed}").get_data(as_text=True)
    assert "1 referral" in html and first.reference in html
    # A custody record number is searched for by POST (never in an address), spaces
    # and case ignored.
    found = client.post("/referrals", data={"reference": "gla/26/ 7777"})
    assert "1 referral" in found.get_data(as_text=True)
    refused = client.get("/referrals?reference=GLA/26/7777")
    assert refused.status_code == 400
    assert "with the Search button" in refused.get_data(as_text=True)
    since = (today - dt.timedelta(days=7)).isoformat()
    html = client.get(f"/referrals?date_from={since}").get_data(as_text=True)
    assert "1 referral" in html and first.reference not in html
    assert client.get("/referrals?date_from=last+week").status_code == 400


# -- audit -----------------------------------------------------------------------------


def test_views_and_changes_are_audited_with_who_when_where(client, session, people, referral):
    sign_in(client, "p@t.example")
    client.get(f"/referrals/{referral.id}")
    act(client, referral.id, "accept", 1, referral.referred_on)
    rows = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [r.action for r in rows] == [
        "sign_in_password_ok",
        "sign_in",
        "referral_viewed",
        "referral_accept",
    ]
    for row in rows[2:]:
        assert row.user_id == people["provider"].id and row.actor == "p@t.example"
        assert row.object_type == "referrals" and row.object_id == str(referral.id)
        assert row.ip == "127.0.0.1" and row.at is not None
    audit = rows[-1]
    audit.detail = "changed"
    with pytest.raises(AppendOnlyError):
        session.flush()
    session.rollback()


def test_admin_filters_the_audit_log(client, session, people, referral):
    sign_in(client, "p@t.example")
    client.get(f"/referrals/{referral.id}")
    client.post("/logout")
    sign_in(client, "a@t.example")
    html = client.get("/admin/audit?action=referral_viewed").get_data(as_text=True)
    assert "1 entry" in html and "p@t.example" in html
    html = client.get(f"/admin/audit?object_type=referrals&object_id={referral.id}").get_data(
        as_text=True
    )
    assert "referral_viewed" in html
    assert "sign_in" in client.get("/admin/audit?who=p%40t").get_data(as_text=True)
    assert client.get("/admin/audit?date_from=the+other+day").status_code == 400


# -- retention -------------------------------------------------------------------------


def test_purge_personal_data_dry_run_then_real(runner, session, people, today):
    old_closed = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=500),
        status="closed",
        closed_on=today - dt.timedelta(days=400),
        close_reason="completed",
    )
    session.add(
        ReferralEvent(
            referral=old_closed,
            to_status="closed",
            from_status="made",
            event_date=old_closed.closed_on,
            note="Spoke to his sister Jo",
        )
    )
    old_declined = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=500),
        status="declined",
        declined_on=today - dt.timedelta(days=499),
        declined_by="provider",
        decline_reason="no_capacity",
    )
    recent = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=50),
        status="closed",
        closed_on=today - dt.timedelta(days=40),
        close_reason="completed",
    )
    still_open = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=900),
    )
    session.commit()

    dry = runner.invoke(args=["purge-personal-data", "--older-than", "365", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 referrals finished before" in dry.output and "2 would be erased" in dry.output
    assert current(session, old_closed.id).contact_name == "Alex Example"

    versions = {r.id: current(session, r.id).version for r in (old_closed, old_declined)}
    real = runner.invoke(args=["purge-personal-data", "--older-than", "365"])
    assert "erased the personal data of 2" in real.output
    for gone in (old_closed.id, old_declined.id):
        saved = current(session, gone)
        assert (saved.contact_name, saved.contact_phone, saved.notes) == (None, None, None)
        # everything else that describes the person goes too
        assert (saved.person_ref, saved.person_ref_hash, saved.postcode_district) == (
            None,
            None,
            None,
        )
        assert (saved.substances, saved.needs) == ("", "")
        assert saved.personal_data_erased_at is not None
        assert saved.version == versions[gone] + 1  # systems keeping a copy see the change
        assert saved.council_area_id and saved.referred_on and saved.age_band  # kept
        assert all(e.note is None for e in saved.events)
    for kept in (recent.id, still_open.id):
        assert current(session, kept).contact_name == "Alex Example"

    again = runner.invoke(args=["purge-personal-data", "--older-than", "365"])
    assert "erased the personal data of 0; 2 had been erased before" in again.output
    assert actions(session)[-3:] == [
        "personal_data_purge_dry_run",
        "personal_data_purged",
        "personal_data_purged",
    ]


def test_measures_are_the_same_before_and_after_a_purge(runner, session, people, today):
    """The purge keeps every field the reports count: the figures do not move."""
    for i in range(12):
        referred = today - dt.timedelta(days=700 - 40 * i)
        stages = {"accepted_on": referred + dt.timedelta(days=1 + i % 3)}
        if i % 2:
            stages["engaged_on"] = referred + dt.timedelta(days=4 + i)
        if i % 4 == 1:
            stages["treatment_started_on"] = referred + dt.timedelta(days=10 + 3 * i)
        make_referral(
            session,
            service=people["service"],
            referrer=people["custody"],
            referred_on=referred,
            council_name="Fife" if i % 3 else "Glasgow City",
            status="closed",
            closed_on=referred + dt.timedelta(days=100),
            close_reason="completed",
            naloxone_offered=True,
            naloxone_supplied=bool(i % 2),
            children_in_household=i % 3 == 0,  # counted: children affected
            **stages,
        )
    session.commit()
    before = build(session, Settings(as_of=today))
    assert before.parts and before.reasons

    result = runner.invoke(args=["purge-personal-data", "--older-than", "30"])
    assert "erased the personal data of 12" in result.output
    session.expire_all()
    after = build(session, Settings(as_of=today))
    assert after.parts == before.parts and after.reasons == before.reasons


def _closed_long_ago(session, people, today, **fields):
    """A referral made 500 days ago and closed as completed 400 days ago: due for the
    retention purge."""
    return make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=today - dt.timedelta(days=500),
        status="closed",
        closed_on=today - dt.timedelta(days=400),
        close_reason="completed",
        **fields,
    )


def test_purged_referral_page_says_so(client, session, runner, people, today):
    old = _closed_long_ago(session, people, today)
    session.commit()
    runner.invoke(args=["purge-personal-data", "--older-than", "30"])
    sign_in(client, "p@t.example")
    html = client.get(f"/referrals/{old.id}").get_data(as_text=True)
    assert "erased on" in html and "Alex Example" not in html and "07700 900123" not in html


def test_the_purge_erases_how_the_person_asked_to_be_contacted(
    client, session, runner, people, today
):
    """The preferred contact method ("do not contact, the person will self-present") is a
    contact detail (DESIGN §5): erased with the name and phone, and no page shows it."""
    old = _closed_long_ago(
        session, people, today, contact_method="self_present", children_in_household=True
    )
    session.commit()
    runner.invoke(args=["purge-personal-data", "--older-than", "30"])
    saved = current(session, old.id)
    assert saved.contact_method is None and saved.children_in_household is True

    sign_in(client, "p@t.example")
    html = client.get(f"/referrals/{old.id}").get_data(as_text=True)
    assert "will self-present" not in html
    assert "How to contact the person, their name and phone number, and the notes were" in html
    # The page lists as erased only what was erased: the children flag is kept.
    assert "needs, contact details and notes) were erased" in html
    assert "and whether children live in the household are kept" in html
    client.post("/logout")

    sign_in(client, "c@t.example")
    for page in ("made", "slip"):
        response = client.get(f"/referrals/{old.id}/{page}")
        assert response.status_code == 200, page
        assert "will self-present" not in response.get_data(as_text=True), page
    made = client.get(f"/referrals/{old.id}/made").get_data(as_text=True)
    assert "<dt>Contact</dt><dd>Erased under the retention policy</dd>" in made


def test_a_reference_already_taken_is_never_reused(client, session, people, monkeypatch):
    existing = make_referral(session, service=people["service"], referrer=people["custody"])
    session.commit()
    codes = iter([existing.reference, "RP-2222-3333"])
    monkeypatch.setattr("referrals.tracking.referral_rows.new_reference", lambda: next(codes))
    sign_in(client, "c@t.example")
    response = client.post("/referrals/new", data=referral_form(people["service"].id))
    assert response.status_code == 302
    newest = session.scalar(sa.select(Referral).order_by(Referral.id.desc()).limit(1))
    assert newest.reference == "RP-2222-3333" and newest.id != existing.id
    # The clash was retried whole: one of everything the new referral writes.
    assert count(session, Referral) == 2
    assert count(session, ReferralEvent) == 2
    assert (
        session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "referral_created"))
        == 1
    )


def test_the_page_shown_again_after_a_refused_change_is_audited_as_a_view(
    client, session, people, referral, today
):
    """The referral's page shown with a refused change (a date in the future, a stale
    form, a contact attempt with nothing filled in) shows the person's name and phone
    like any view of it, so it is audited like one; nothing else is written."""
    sign_in(client, "p@t.example")
    future = (today + dt.timedelta(days=3)).isoformat()
    refused = [
        (f"/referrals/{referral.id}/accept", {"accept-version": "1", "accept-on": future}, 400),
        (f"/referrals/{referral.id}/accept", {"accept-version": "0"}, 409),
        (f"/referrals/{referral.id}/attempts", {}, 400),
    ]
    for path, data, status in refused:
        before = len(actions(session))
        response = client.post(path, data=data)
        assert response.status_code == status, path
        assert "Alex Example" in response.get_data(as_text=True)
        session.expire_all()
        assert actions(session)[before:] == ["referral_viewed"], path
        viewed = session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert viewed.object_id == str(referral.id)
        assert json.loads(viewed.detail) == {"shown_after": "refused change"}
    assert session.get(Referral, referral.id).status == ReferralStatus.MADE
