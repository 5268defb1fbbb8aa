"""Following a referral through: contact attempts, undo, refer on, updates from the
referrer, no duplicates, the slip for the person, the custody form's order of errors,
and the worklist that brings it together."""

from __future__ import annotations

import datetime as dt
import re
import threading
from html import unescape

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from referrals.choices import ReferralStatus, Role
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import AuditEvent, Referral, ReferralEvent, User
from referrals.notifications.kinds import Kind
from referrals.notifications.models import Notification
from referrals.reports.figures import Settings, build
from referrals.tracking.models import ContactAttempt, ReferralUpdate
from referrals.tracking.retention import purge_personal_data
from referrals.tracking.undo import UNDO_REASON

from .conftest import form_as_shown
from .factories import (
    make_contact,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .tabs import post_at_once, tabs
from .test_auth import sign_in
from .test_notifications import Clock
from .test_referrals import referral_form

NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
TODAY = NOON.date()


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock(NOON)
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def people(session):
    org = make_organisation(session, "Harbour Recovery")
    other = make_organisation(session, "Hillside Trust")
    data = {
        "service": make_service(
            session, organisation=org, name="Harbour MAT", lat=55.856, lon=-4.21
        ),
        "naloxone": make_service(
            session, organisation=org, name="Harbour Naloxone Drop-in", type_code="naloxone"
        ),
        "other_service": make_service(
            session,
            organisation=other,
            name="Hillside Detox",
            type_code="detox",
            lat=55.86,
            lon=-4.22,
        ),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "provider": make_user(session, Role.PROVIDER, email="p@t.example", organisation=org),
        "colleague": make_user(session, Role.PROVIDER, email="p2@t.example", organisation=org),
        "other_provider": make_user(
            session, Role.PROVIDER, email="q@t.example", organisation=other
        ),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return data


@pytest.fixture
def referral(session, people):
    made = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=3),
        naloxone_offered=True,
        naloxone_supplied=True,
    )
    session.commit()
    return made


def fresh(session, model, ident):
    session.expire_all()
    return session.get(model, ident)


def attempt(client, referral_id, outcome, on=TODAY, method="phone", note=""):
    return client.post(
        f"/referrals/{referral_id}/attempts",
        data={"attempted_on": on.isoformat(), "method": method, "outcome": outcome, "note": note},
    )


# -- contact attempts ------------------------------------------------------------------


def test_contact_attempts_are_logged_without_changing_status_and_suggest_closing_after_three(
    client, session, people, referral, clock
):
    sign_in(client, "p@t.example")
    assert attempt(client, referral.id, "no_answer", note="Rang twice").status_code == 302
    saved = fresh(session, Referral, referral.id)
    assert saved.status == ReferralStatus.MADE and saved.version == 1
    attempt(client, referral.id, "message_left")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Attempts</dt><dd>2; last 2 Dec 2026: left a message" in page
    assert "consider" not in page
    attempt(client, referral.id, "wrong_number")
    page = client.get("/worklist").get_data(as_text=True)
    assert "3 attempts in a row without reaching the person" in page
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Contact attempt: No answer" in detail and "Rang twice" in detail
    assert '<option selected value="not_contactable">' in detail  # the close form, ready
    # Reaching the person starts the count again.
    attempt(client, referral.id, "spoke")
    assert "attempts in a row" not in client.get("/worklist").get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 4


def test_a_refused_close_keeps_the_reason_chosen_not_the_one_suggested(
    client, session, people, referral, clock
):
    """Three unanswered calls suggest "Not contactable"; a provider who chose "Moved
    area" and mistyped the date gets the form back with "Moved area" still chosen."""
    sign_in(client, "p@t.example")
    for _ in range(3):
        attempt(client, referral.id, "no_answer")
    close = f"/referrals/{referral.id}/close"
    refused = client.post(
        close,
        data={
            "close-version": "1",
            "close-reason": "moved_area",
            "close-on": (TODAY - dt.timedelta(days=30)).isoformat(),
        },
    )
    assert refused.status_code == 400
    assert form_as_shown(refused.get_data(as_text=True), close)["close-reason"] == ["moved_area"]


def test_closing_someone_in_treatment_suggests_no_reason_however_many_calls_went_unanswered(
    client, session, people, clock
):
    """The suggestion is for people who have not attended yet (as the page's notice and
    the worklist say): for someone in treatment the close form starts with no reason."""
    day = TODAY - dt.timedelta(days=1)
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=10),
        status="treatment_started",
        accepted_on=day,
        engaged_on=day,
        treatment_started_on=day,
    )
    session.commit()
    sign_in(client, "p@t.example")
    for _ in range(3):
        assert attempt(client, referral.id, "no_answer").status_code == 302
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "attempts in a row without reaching the person" not in page
    assert form_as_shown(page, f"/referrals/{referral.id}/close").get("close-reason") in (
        None,
        [""],
    )


def test_a_new_number_for_a_referral_by_text_message_must_be_a_mobile(
    client, session, people, clock
):
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=1),
        contact_method="text",
        contact_phone="07700 900123",
    )
    session.commit()
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    update = {**hidden_fields(page, "update"), "new_phone": "0141 496 0123"}
    refused = client.post(f"/referrals/{referral.id}/updates", data=update)
    assert refused.status_code == 400
    assert "Text messages need a mobile number" in refused.get_data(as_text=True)
    assert fresh(session, Referral, referral.id).contact_phone == "07700 900123"


def test_the_overdue_tag_and_the_slip_name_the_working_days_set(app, client, session, people):
    app.config["OVERDUE_WORKING_DAYS"] = 10
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=30),
        contact_method="phone",
    )
    session.commit()
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Overdue: no response within 10 working days" in page
    custody = app.test_client()
    sign_in(custody, "c@t.example")
    slip = custody.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    assert "within 10 working days, by" in slip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"attempted_on": (TODAY + dt.timedelta(days=1)).isoformat()}, "cannot be in the future"),
        (
            {"attempted_on": (TODAY - dt.timedelta(days=30)).isoformat()},
            "before the referral was made",
        ),
        ({"outcome": ""}, "Choose what happened."),
    ],
)
def test_a_bad_contact_attempt_is_refused_and_saves_nothing(
    client, session, people, referral, clock, changes, message
):
    sign_in(client, "p@t.example")
    data = {"attempted_on": TODAY.isoformat(), "method": "phone", "outcome": "no_answer"}
    data.update(changes)
    response = client.post(f"/referrals/{referral.id}/attempts", data=data)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0


def test_custody_staff_cannot_log_contact_attempts(client, referral, people, clock):
    sign_in(client, "c@t.example")
    assert attempt(client, referral.id, "no_answer").status_code == 403


# -- undo ---------------------------------------------------------------------------------

STATE_COLUMNS = (
    "status",
    "accepted_on",
    "declined_on",
    "declined_by",
    "decline_reason",
    "engaged_on",
    "treatment_started_on",
    "closed_on",
    "close_reason",
    "days_to_engagement",
    "days_to_treatment",
)


def columns(session, referral_id):
    saved = fresh(session, Referral, referral_id)
    return {c: getattr(saved, c) for c in STATE_COLUMNS}


@pytest.mark.parametrize(
    ("setup", "action", "data"),
    [
        ([], "accept", {}),
        ([], "decline", {"reason": "no_capacity", "declined_by": "provider"}),
        (["accept"], "attend", {}),
        (["accept", "attend"], "start_treatment", {}),
        (["accept"], "close", {"reason": "disengaged"}),
    ],
)
def test_undo_restores_the_referral_exactly_as_it_was(
    client, session, people, referral, clock, setup, action, data
):
    sign_in(client, "p@t.example")
    version = 1
    for step in setup:
        client.post(
            f"/referrals/{referral.id}/{step}",
            data={f"{step}-version": str(version), f"{step}-on": TODAY.isoformat()},
        )
        version += 1
    before = columns(session, referral.id)
    response = client.post(
        f"/referrals/{referral.id}/{action}",
        data={
            f"{action}-version": str(version),
            f"{action}-on": TODAY.isoformat(),
            **{f"{action}-{k}": v for k, v in data.items()},
        },
    )
    assert response.status_code == 302
    assert columns(session, referral.id) != before
    clock.advance(minutes=14)
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Made a mistake?" in page
    response = client.post(
        f"/referrals/{referral.id}/undo", data={"version": str(version + 1)}, follow_redirects=True
    )
    assert "Undone: referral" in response.get_data(as_text=True)
    assert columns(session, referral.id) == before
    events = fresh(session, Referral, referral.id).events
    undo_event = events[-1]
    assert undo_event.reason == "undo" and undo_event.undoes_event_id == events[-2].id
    assert (undo_event.from_status, undo_event.to_status) == (
        events[-2].to_status,
        events[-2].from_status,
    )
    assert "Undone:" in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc())) in (
        "referral_change_undone",
        "referral_viewed",
    )


def test_undo_is_refused_after_fifteen_minutes_and_for_someone_elses_change(
    client, session, people, referral, clock
):
    sign_in(client, "p@t.example")
    client.post(f"/referrals/{referral.id}/accept", data={"accept-version": "1"})
    client.post("/logout")
    sign_in(client, "p2@t.example")
    response = client.post(f"/referrals/{referral.id}/undo", data={"version": "2"})
    assert response.status_code == 400
    assert "Only the person who made the last change can undo it." in response.get_data(
        as_text=True
    )
    client.post("/logout")
    sign_in(client, "p@t.example")
    clock.advance(minutes=16)
    assert "Made a mistake?" not in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    response = client.post(f"/referrals/{referral.id}/undo", data={"version": "2"})
    assert response.status_code == 400 and "within 15 minutes" in response.get_data(as_text=True)
    assert fresh(session, Referral, referral.id).status == ReferralStatus.ACCEPTED


def test_a_closing_the_retention_purge_erased_cannot_be_undone(
    app, client, session, people, clock
):
    """Undoing it would open the referral again, and the purge, which erases each
    referral once, would never erase what was written to it afterwards."""
    old = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=1100),
    )
    session.commit()
    sign_in(client, "p@t.example")
    closed_on = TODAY - dt.timedelta(days=1000)  # when the person stopped coming
    response = client.post(
        f"/referrals/{old.id}/close",
        data={
            "close-version": "1",
            "close-on": closed_on.isoformat(),
            "close-reason": "disengaged",
        },
    )
    assert response.status_code == 302
    clock.advance(minutes=1)
    with app.app_context():  # the nightly purge
        purge_personal_data(db.session, 730, TODAY, clock(), dry_run=False)
        db.session.commit()
    erased = fresh(session, Referral, old.id)
    assert erased.personal_data_erased_at is not None and erased.contact_phone is None
    clock.advance(minutes=5)
    page = client.get(f"/referrals/{old.id}")
    assert page.status_code == 200 and "Made a mistake?" not in page.get_data(as_text=True)
    page = client.get("/worklist")
    assert page.status_code == 200 and f"/referrals/{old.id}/undo" not in page.get_data(
        as_text=True
    )
    response = client.post(f"/referrals/{old.id}/undo", data={"version": str(erased.version)})
    assert response.status_code == 400
    assert (
        "The person&#39;s details on this referral were erased under the retention rules, so "
        "it cannot be changed or added to any more." in response.get_data(as_text=True)
    )
    saved = fresh(session, Referral, old.id)
    assert (saved.status, saved.closed_on, saved.version) == ("closed", closed_on, erased.version)
    assert "undo" not in [e.reason for e in saved.events]
    # Nor can anything about the person be written to it.
    assert attempt(client, old.id, "spoke", note="Call Jo").status_code == 400
    client.post("/logout")
    sign_in(client, "c@t.example")
    response = client.post(
        f"/referrals/{old.id}/updates",
        data={"new_phone": "07700 900999", "message": "Hostel", "version": str(erased.version)},
    )
    assert response.status_code == 400
    assert fresh(session, Referral, old.id).contact_phone is None
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 0


def test_a_referral_left_open_after_its_erasure_takes_no_more_personal_details(
    client, session, people, clock
):
    """An undo of an earlier release could open an erased referral again: nothing about
    the person is added to it, and nothing offers to."""
    reopened = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=1100),
        person_ref=None,
        contact_name=None,
        contact_phone=None,
        notes=None,
        personal_data_erased_at=NOON - dt.timedelta(days=1),
    )
    session.commit()
    erased = "The person&#39;s details on this referral were erased under the retention rules"
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{reopened.id}").get_data(as_text=True)
    assert "Log a contact attempt" not in page and "/refer-on" not in page
    response = attempt(client, reopened.id, "spoke", note="Call Jo on 0141")
    assert response.status_code == 400 and erased in response.get_data(as_text=True)
    response = client.get(f"/referrals/{reopened.id}/refer-on")
    assert response.status_code == 403 and erased in response.get_data(as_text=True)
    client.post("/logout")
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{reopened.id}").get_data(as_text=True)
    assert "Tell the service something new" not in page
    response = client.post(
        f"/referrals/{reopened.id}/updates",
        data={"new_phone": "07700 900999", "version": str(reopened.version)},
    )
    assert response.status_code == 400 and erased in response.get_data(as_text=True)
    assert fresh(session, Referral, reopened.id).contact_phone is None
    assert session.scalar(sa.select(sa.func.count()).select_from(ContactAttempt)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 0


def test_the_worklist_says_what_a_one_click_button_did_and_offers_undo(
    client, session, people, referral, clock
):
    sign_in(client, "p@t.example")
    response = client.post(
        f"/referrals/{referral.id}/accept",
        data={"accept-version": "1", "accept-on": TODAY.isoformat(), "back": "worklist"},
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert f"Referral {referral.reference} accepted." in page
    assert "Your changes in the last 15 minutes" in page
    assert f"{referral.reference}: accepted at" in page
    response = client.post(
        f"/referrals/{referral.id}/undo", data={"version": "2", "back": "worklist"}
    )
    assert response.status_code == 302 and response.location == "/worklist"
    page = client.get("/worklist").get_data(as_text=True)
    assert (
        "New: awaiting acceptance (1)" in page
        and "Your changes in the last 15 minutes" not in page
    )


def test_the_worklist_lists_the_latest_five_changes_and_the_rest_behind_a_summary(
    client, session, people, clock
):
    """A run of "Accept today" presses leaves the sections where they were: the latest
    five changes are listed to undo, the earlier ones behind "Show 2 earlier changes"."""
    made = []
    for _ in range(7):
        made.append(
            make_referral(
                session,
                service=people["service"],
                referrer=people["custody"],
                referred_on=TODAY - dt.timedelta(days=3),
            )
        )
    session.commit()
    sign_in(client, "p@t.example")
    for referral in made:
        clock.advance(minutes=1)
        response = client.post(
            f"/referrals/{referral.id}/accept",
            data={"accept-version": "1", "accept-on": TODAY.isoformat(), "back": "worklist"},
        )
        assert response.status_code == 302
    page = client.get("/worklist").get_data(as_text=True)
    undo = page[page.index("Your changes in the last 15 minutes") : page.index("</section>")]
    latest, _, earlier = undo.partition("<details")
    listed = [r.reference for r in reversed(made)]  # the latest first
    assert [ref for ref in listed if f"{ref}: accepted at" in latest] == listed[:5]
    assert "<summary>Show 2 earlier changes</summary>" in earlier
    assert [ref for ref in listed if f"{ref}: accepted at" in earlier] == listed[5:]
    assert latest.index(listed[0]) < latest.index(listed[4])
    # Each can still be undone from where it is listed, the earlier ones too.
    response = client.post(
        f"/referrals/{made[0].id}/undo", data={"version": "2", "back": "worklist"}
    )
    assert response.status_code == 302
    assert fresh(session, Referral, made[0].id).status == ReferralStatus.MADE
    page = client.get("/worklist").get_data(as_text=True)
    assert "<summary>Show 1 earlier change</summary>" in page


# -- the worklist ---------------------------------------------------------------------------


def test_the_worklist_row_shows_contact_details_and_harm_reduction_is_not_awaiting_treatment(
    client, session, people, clock
):
    treatment = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY,
        status="engaged",
        accepted_on=TODAY,
        engaged_on=TODAY,
    )
    naloxone = make_referral(
        session,
        service=people["naloxone"],
        referrer=people["custody"],
        referred_on=TODAY,
        status="engaged",
        accepted_on=TODAY,
        engaged_on=TODAY,
        contact_phone="07700 900456",
    )
    session.commit()
    sign_in(client, "p@t.example")
    page = client.get("/worklist").get_data(as_text=True)
    awaiting = page.split('id="engaged"')[1].split('id="attending"')[0]
    attending = page.split('id="attending"')[1]
    assert treatment.reference in awaiting and naloxone.reference not in awaiting
    assert naloxone.reference in attending
    assert "Awaiting treatment start (1)" in page
    assert 'href="tel:07700900456"' in page and "Alex Example" in page


# -- refer on ---------------------------------------------------------------------------------


def pass_on(client, referral_id: int, service_id: int, note: str):
    """The refer-on form sent for a referral at its first version, the person agreeing."""
    return client.post(
        f"/referrals/{referral_id}/refer-on",
        data={"version": "1", "service": str(service_id), "consent": "y", "note": note},
    )


def test_a_provider_passes_a_referral_on_and_the_journey_is_linked(
    client, session, people, referral, clock
):
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}/refer-on").get_data(as_text=True)
    assert "Hillside Detox" in page and ">Harbour MAT<" not in page
    response = pass_on(client, referral.id, people["other_service"].id, "Needs detox first.")
    assert response.status_code == 302
    first = fresh(session, Referral, referral.id)
    new = session.scalar(sa.select(Referral).where(Referral.referred_from_id == referral.id))
    assert (first.status, first.close_reason, first.closed_on) == ("closed", "referred_on", TODAY)
    assert new.service_id == people["other_service"].id and new.status == "made"
    assert (new.person_ref, new.custody_suite_id, new.referrer_id) == (
        first.person_ref,
        first.custody_suite_id,
        first.referrer_id,
    )
    assert new.consent_date == TODAY and new.referred_on == TODAY
    # The kit supplied in custody goes with it (the first is not counted, so it is
    # counted once, here); urgency was the first service's to answer.
    assert new.naloxone_supplied and new.naloxone_offered and not new.same_day_urgent
    assert new.notes.startswith(f"Passed on from {first.reference}: Needs detox first.")
    kinds = {(n.kind, n.referral_id) for n in session.scalars(sa.select(Notification))}
    assert (Kind.NEW_REFERRAL, new.id) in kinds and (Kind.CLOSED, first.id) in kinds
    # The new service's provider sees it, linked back; the first organisation does not.
    assert client.get(f"/referrals/{new.id}").status_code == 404
    client.post("/logout")
    sign_in(client, "q@t.example")
    page = client.get(f"/referrals/{new.id}").get_data(as_text=True)
    assert "Passed on from" in page and first.reference in page
    assert f"Passed on from {first.reference}" in client.get("/worklist").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{first.id}").get_data(as_text=True)
    assert "Passed on to" in page and new.reference in page
    assert "Referred on to another service" in page


def passed_on_by_mistake(client, session, people, referral) -> Referral:
    """The provider passes the referral on to Hillside Detox; the new referral."""
    sign_in(client, "p@t.example")
    response = pass_on(client, referral.id, people["other_service"].id, "Wrong service.")
    assert response.status_code == 302
    session.expire_all()
    return session.scalar(sa.select(Referral).where(Referral.referred_from_id == referral.id))


def test_passing_on_by_mistake_is_undone_and_the_new_referral_withdrawn(
    client, session, people, referral, clock
):
    new = passed_on_by_mistake(client, session, people, referral)
    clock.advance(minutes=5)
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f'action="/referrals/{referral.id}/undo"' in page
    assert "Passed on to another service" in page
    worklist = client.get("/worklist").get_data(as_text=True)
    assert (
        "passed on to another service" in worklist and f"/referrals/{referral.id}/undo" in worklist
    )
    response = client.post(f"/referrals/{referral.id}/undo", data={"version": "2"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert f"Undone: referral {referral.reference} is back to “Made, awaiting response”." in page
    assert f"The referral it was passed on to, {new.reference}, is withdrawn." in page
    first, new = fresh(session, Referral, referral.id), fresh(session, Referral, new.id)
    assert (first.status, first.closed_on, first.close_reason) == ("made", None, None)
    assert (new.status, new.close_reason, new.closed_on) == ("closed", "entered_in_error", TODAY)
    # Nobody's change to undo (it goes with the undo that made it); the audit log says
    # who withdrew it.
    assert new.events[-1].user_id is None
    withdrawn = session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "referral_withdrawn", AuditEvent.object_id == str(new.id)
        )
    )
    assert withdrawn.user_id == people["provider"].id
    # Hillside Detox had not been sent the new referral yet: it never will be, and is
    # not told of a withdrawal; the referrer is not told it was passed on.
    messages = {
        (n.kind, n.referral_id): n.status for n in session.scalars(sa.select(Notification))
    }
    assert messages[(Kind.NEW_REFERRAL, new.id)] == "cancelled"
    assert messages[(Kind.CLOSED, first.id)] == "cancelled"
    assert (Kind.WITHDRAWN, new.id) not in messages
    # The referral is the provider's to work on again.
    assert (
        client.post(
            f"/referrals/{first.id}/accept",
            data={"accept-version": str(first.version), "accept-on": TODAY.isoformat()},
        ).status_code
        == 302
    )


def test_a_new_referral_already_sent_is_withdrawn_in_a_message_to_its_service(
    app, client, session, people, referral, clock
):
    from referrals.notifications.messages import compose

    people["other_service"].referral_email = "referrals@hillside.example"
    session.commit()
    new = passed_on_by_mistake(client, session, people, referral)
    sent = session.scalar(
        sa.select(Notification).where(
            Notification.referral_id == new.id, Notification.kind == Kind.NEW_REFERRAL
        )
    )
    sent.status = "sent"
    session.commit()
    assert client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}).status_code == 302
    session.expire_all()
    [withdrawn] = session.scalars(
        sa.select(Notification).where(Notification.kind == Kind.WITHDRAWN)
    ).all()
    assert withdrawn.referral_id == new.id and withdrawn.status == "pending"
    with app.test_request_context():
        message = compose(db.session, db.session.get(Notification, withdrawn.id))
    assert message.subject == f"Referral {new.reference} withdrawn"
    assert (
        f"Referral {new.reference} to Hillside Detox was passed on to you by mistake, and "
        "has been withdrawn. You do not need to work on it any more."
    ) in message.body


def test_an_update_from_the_referrer_is_not_the_new_service_acting(
    app, client, session, people, referral, clock
):
    """The referrer sends a message on the new referral (a new version of it): its
    service has still done nothing, so the passing-on can still be undone."""
    new = passed_on_by_mistake(client, session, people, referral)
    custody = app.test_client()
    sign_in(custody, "c@t.example")
    url = f"/referrals/{new.id}"
    fields = hidden_fields(custody.get(url).get_data(as_text=True), "update")
    sent = custody.post(f"{url}/updates", data={**fields, "message": "Call after 5pm."})
    assert sent.status_code == 302 and fresh(session, Referral, new.id).version == 2
    assert client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}).status_code == 302
    assert fresh(session, Referral, new.id).close_reason == "entered_in_error"


def test_passing_on_cannot_be_undone_once_the_new_service_has_acted(
    client, session, people, referral, clock
):
    new = passed_on_by_mistake(client, session, people, referral)
    client.post("/logout")
    sign_in(client, "q@t.example")
    assert (
        client.post(
            f"/referrals/{new.id}/accept",
            data={"accept-version": "1", "accept-on": TODAY.isoformat()},
        ).status_code
        == 302
    )
    client.post("/logout")
    sign_in(client, "p@t.example")
    response = client.post(f"/referrals/{referral.id}/undo", data={"version": "2"})
    assert response.status_code == 400
    assert (
        f"Hillside Detox has already started on the new referral {new.reference}, so "
        "passing this one on cannot be undone."
    ) in response.get_data(as_text=True)
    first, new = fresh(session, Referral, referral.id), fresh(session, Referral, new.id)
    assert (first.status, first.close_reason) == ("closed", "referred_on")
    assert new.status == "accepted"


@pytest.mark.parametrize("first", ["attempt", "undo"])
def test_a_contact_attempt_and_an_undo_of_the_passing_on_at_once_never_both_happen(
    app, client, session, people, referral, clock, first
):
    """The new service logs a contact attempt on the new referral at the very moment the
    passing-on is undone. Whichever saves first wins and the other is refused: never an
    attempt on a withdrawn referral, nor a withdrawal of one being worked on."""
    new = passed_on_by_mistake(client, session, people, referral)
    hillside = app.test_client()
    sign_in(hillside, "q@t.example")
    held, release = threading.Event(), threading.Event()

    def is_first_write(flushing) -> bool:
        if first == "attempt":
            return any(isinstance(o, ContactAttempt) for o in flushing.new)
        return any(
            isinstance(o, Referral) and o.close_reason == "entered_in_error"
            for o in flushing.dirty
        )

    @sa.event.listens_for(Session, "after_flush")
    def hold_the_first(flushing, _context):
        # The first request waits, its write made but not committed, while the other runs.
        if threading.current_thread().name == first and is_first_write(flushing):
            held.set()
            release.wait(20)

    answers = {}
    requests = {
        "attempt": lambda: hillside.post(
            f"/referrals/{new.id}/attempts",
            data={"attempted_on": TODAY.isoformat(), "method": "phone", "outcome": "spoke"},
        ),
        "undo": lambda: client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}),
    }

    def send(name):
        answers[name] = requests[name]()

    second = "undo" if first == "attempt" else "attempt"
    threads = {name: threading.Thread(target=send, args=(name,), name=name) for name in requests}
    try:
        threads[first].start()
        assert held.wait(20)
        threads[second].start()
        threads[second].join(timeout=1.5)
        waited = threads[second].is_alive()  # for the first to commit
        release.set()
        for thread in threads.values():
            thread.join(timeout=30)
    finally:
        release.set()
        sa.event.remove(Session, "after_flush", hold_the_first)
    assert waited
    assert answers[first].status_code == 302 and answers[second].status_code == 400
    attempts = session.scalar(
        sa.select(sa.func.count()).where(ContactAttempt.referral_id == new.id)
    )
    first_referral, new = fresh(session, Referral, referral.id), fresh(session, Referral, new.id)
    refused = answers[second].get_data(as_text=True)
    if first == "attempt":
        assert "Hillside Detox has already started on the new referral" in refused
        assert (first_referral.close_reason, new.status, attempts) == ("referred_on", "made", 1)
    else:
        assert "Contact attempts can only be logged on an open referral." in refused
        withdrawn = (first_referral.status, new.close_reason, attempts)
        assert withdrawn == ("made", "entered_in_error", 0)


def test_an_undo_of_a_passing_on_clicked_twice_is_done_once_and_answered_as_done(
    app, client, session, people, referral, clock
):
    """Two undos of the same passing-on at once (a double click): the first withdraws
    the new referral; the second, held until the first is saved, finds the referral
    already undone by this person and says so, not that the new service has started."""
    new = passed_on_by_mistake(client, session, people, referral)
    first_tab, second_tab = tabs(app, "p@t.example", 2)
    held, release = threading.Event(), threading.Event()

    @sa.event.listens_for(Session, "after_flush")
    def hold_the_first(flushing, _context):
        withdrawing = any(
            isinstance(o, Referral) and o.close_reason == "entered_in_error"
            for o in flushing.dirty
        )
        if threading.current_thread().name == "first" and withdrawing:
            held.set()
            release.wait(20)

    answers = {}

    def undo(name, tab):
        answers[name] = tab.post(f"/referrals/{referral.id}/undo", data={"version": "2"})

    threads = [
        threading.Thread(target=undo, args=("first", first_tab), name="first"),
        threading.Thread(target=undo, args=("second", second_tab), name="second"),
    ]
    try:
        threads[0].start()
        assert held.wait(20)
        threads[1].start()
        threads[1].join(timeout=1.5)
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        release.set()
        sa.event.remove(Session, "after_flush", hold_the_first)
    assert [answers[n].status_code for n in ("first", "second")] == [302, 302]
    again = second_tab.get(answers["second"].location).get_data(as_text=True)
    assert "Undone" in again and "has already started" not in again
    first, new = fresh(session, Referral, referral.id), fresh(session, Referral, new.id)
    assert (first.status, new.close_reason) == ("made", "entered_in_error")
    undos = [e for e in first.events if e.reason == UNDO_REASON]
    assert len(undos) == 1


def test_a_referral_withdrawn_by_undoing_its_passing_on_stays_withdrawn(
    client, session, people, referral, clock
):
    """Custody passes a referral on and takes it back: the new referral, withdrawn,
    cannot be undone back to open, nor reopened by an administrator, while the first is
    followed instead (the person would be counted twice)."""
    sign_in(client, "c@t.example")
    assert pass_on(client, referral.id, people["other_service"].id, "Oops.").status_code == 302
    new = session.scalar(sa.select(Referral).where(Referral.referred_from_id == referral.id))
    assert client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}).status_code == 302
    page = client.get(f"/referrals/{new.id}").get_data(as_text=True)
    assert f'action="/referrals/{new.id}/undo"' not in page
    refused = client.post(f"/referrals/{new.id}/undo", data={"version": "2"})
    assert refused.status_code == 400
    client.post("/logout")
    sign_in(client, "a@t.example")
    reopened = client.post(
        f"/referrals/{new.id}/reopen",
        data={"reopen-version": "2", "reopen-note": "Should be open", "reopen-on": TODAY},
    )
    assert reopened.status_code == 400
    assert (
        f"This referral was withdrawn when passing {referral.reference} on was undone"
        in reopened.get_data(as_text=True)
    )
    first, new = fresh(session, Referral, referral.id), fresh(session, Referral, new.id)
    assert (first.status, new.status, new.close_reason) == ("made", "closed", "entered_in_error")


def test_kits_supplied_in_custody_are_counted_once_when_referrals_are_passed_on(
    client, session, people, clock
):
    """The measures count a passed-on person by the referral it went to: the naloxone
    kit supplied in custody, recorded on the first, is counted there, once (it was
    counted nowhere)."""
    chains = [
        make_referral(
            session,
            service=people["service"],
            referrer=people["custody"],
            referred_on=TODAY - dt.timedelta(days=3),
            naloxone_offered=True,
            naloxone_supplied=n < 8,
        )
        for n in range(12)
    ]
    session.commit()
    sign_in(client, "p@t.example")
    for referral in chains:
        response = pass_on(client, referral.id, people["other_service"].id, "Nearer home.")
        assert response.status_code == 302
    published = build(session, Settings(as_of=dt.date(2027, 1, 10)))
    month = published.parts[("area", "2026-12", "all")]["national"]
    assert month["referrals"] == 12
    assert month["naloxone_supplied"] == 8


def test_refer_on_needs_consent_a_different_service_and_an_open_referral(
    client, session, people, referral, clock
):
    sign_in(client, "p@t.example")
    base = {"version": "1", "service": str(people["other_service"].id), "note": "Nearer home."}
    response = client.post(f"/referrals/{referral.id}/refer-on", data=base)
    assert response.status_code == 400 and "The person must agree" in response.get_data(
        as_text=True
    )
    response = client.post(
        f"/referrals/{referral.id}/refer-on",
        data={**base, "consent": "y", "service": str(people["service"].id)},
    )
    assert response.status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
    assert fresh(session, Referral, referral.id).status == "made"
    # "Referred on" is not a reason to choose when closing, nor can such a referral reopen.
    response = client.post(
        f"/referrals/{referral.id}/close",
        data={"close-version": "1", "close-reason": "referred_on"},
    )
    assert response.status_code == 400
    client.post(f"/referrals/{referral.id}/refer-on", data={**base, "consent": "y"})
    client.post("/logout")
    sign_in(client, "a@t.example")
    response = client.post(
        f"/referrals/{referral.id}/reopen", data={"reopen-version": "2", "reopen-note": "oops"}
    )
    assert response.status_code == 400 and "follow the new referral" in response.get_data(
        as_text=True
    )


def test_refer_on_offers_and_takes_only_services_that_take_referrals_from_custody(
    client, session, people, referral, clock
):
    walk_in = make_service(
        session,
        name="Walk-in Only Service",
        accepts_custody_referrals=False,
        lat=55.857,
        lon=-4.211,
    )
    session.commit()
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}/refer-on").get_data(as_text=True)
    assert "Hillside Detox" in page and "Walk-in Only Service" not in page
    response = client.post(
        f"/referrals/{referral.id}/refer-on",
        data={"version": "1", "service": str(walk_in.id), "consent": "y", "note": "x"},
    )
    assert response.status_code == 400
    assert "Walk-in Only Service does not take referrals from custody" in response.get_data(
        as_text=True
    )
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
    assert fresh(session, Referral, referral.id).status == "made"


def test_custody_staff_pass_a_referral_on_only_before_the_service_responds(
    client, session, people, referral, clock
):
    """Passing a referral on closes it: custody staff may do it only while they may
    close it themselves, before the service has responded, never once the person is
    in treatment there."""
    sign_in(client, "p@t.example")
    for version, step in enumerate(("accept", "attend", "start_treatment"), start=1):
        response = client.post(
            f"/referrals/{referral.id}/{step}",
            data={f"{step}-version": str(version), f"{step}-on": TODAY.isoformat()},
        )
        assert response.status_code == 302
    client.post("/logout")
    sign_in(client, "c@t.example")
    refused = (
        "Custody staff can only pass a referral on before the service has responded, and "
        "this one is “treatment started”. Ask the service to pass it on"
    )
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert f"/referrals/{referral.id}/refer-on" not in page
    response = client.get(f"/referrals/{referral.id}/refer-on")
    text = response.get_data(as_text=True)
    assert response.status_code == 403 and refused in text and "Hillside Detox" not in text
    response = client.post(
        f"/referrals/{referral.id}/refer-on",
        data={"version": "4", "service": str(people["other_service"].id), "consent": "y"},
    )
    assert response.status_code == 400 and refused in response.get_data(as_text=True)
    saved = fresh(session, Referral, referral.id)
    assert (saved.status, saved.close_reason) == ("treatment_started", None)
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
    kinds = session.scalars(sa.select(Notification.kind)).all()
    assert Kind.NEW_REFERRAL not in kinds and Kind.CLOSED not in kinds
    # A referral the service has not answered yet is theirs to pass on.
    waiting = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=TODAY
    )
    session.commit()
    page = client.get(f"/referrals/{waiting.id}").get_data(as_text=True)
    assert f"/referrals/{waiting.id}/refer-on" in page
    response = pass_on(client, waiting.id, people["other_service"].id, "Nearer home.")
    assert response.status_code == 302
    assert fresh(session, Referral, waiting.id).close_reason == "referred_on"


# -- updates from the referrer ---------------------------------------------------------------


def test_the_referrer_adds_a_release_date_and_a_new_phone_which_the_provider_sees(
    client, session, people, referral, clock
):
    sign_in(client, "c@t.example")
    response = client.post(
        f"/referrals/{referral.id}/updates",
        data={
            "release_on": (TODAY + dt.timedelta(days=2)).isoformat(),
            "new_phone": "07700 900999",
            "message": "Released to a hostel.",
            "version": str(referral.version),
        },
    )
    assert response.status_code == 302
    saved = fresh(session, Referral, referral.id)
    assert saved.contact_phone == "07700 900999"
    [update] = session.scalars(sa.select(ReferralUpdate)).all()
    assert update.phone_changed and update.release_on == TODAY + dt.timedelta(days=2)
    [note] = session.scalars(
        sa.select(Notification).where(Notification.kind == Kind.REFERRAL_UPDATE)
    ).all()
    assert note.referral_id == referral.id
    assert client.post(f"/referrals/{referral.id}/updates", data={}).status_code == 400
    client.post("/logout")
    sign_in(client, "p@t.example")
    detail = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert "Update from the referrer" in detail and "Released to a hostel." in detail
    assert "Release date</dt><dd>4 Dec 2026" in detail
    assert "Release date</dt><dd>4 Dec 2026" in client.get("/worklist").get_data(as_text=True)
    assert (
        client.post(f"/referrals/{referral.id}/updates", data={"message": "x"}).status_code == 403
    )


def hidden_fields(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of the form ``form_id`` on a page, as a browser sends them."""
    form = html[html.index(f'id="{form_id}"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_an_update_from_a_page_shown_before_a_colleagues_new_number_is_refused_and_saves_nothing(
    app, client, session, people, referral, clock
):
    """Two officers of the suite open the referral; one sends the person's new number.
    The other's update, from the page shown before it, would overwrite that number
    unseen (and the old one is kept nowhere): it is refused, the page shows the
    colleague's number and update, and nothing of it is saved or sent. Sent again from
    the page shown, it is saved."""
    colleague = make_user(
        session, Role.CUSTODY, email="c2@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    other = app.test_client()
    sign_in(other, "c2@t.example")
    sign_in(client, "c@t.example")
    url = f"/referrals/{referral.id}"
    mine = hidden_fields(client.get(url).get_data(as_text=True), "update")
    theirs = hidden_fields(other.get(url).get_data(as_text=True), "update")
    answer = other.post(f"{url}/updates", data={**theirs, "new_phone": "07700 900111"})
    assert answer.status_code == 302
    audited = sa.select(sa.func.count()).where(AuditEvent.action == "referral_updated_by_referrer")
    told = sa.select(sa.func.count()).where(Notification.kind == Kind.REFERRAL_UPDATE)
    assert (session.scalar(audited), session.scalar(told)) == (1, 1)

    sent = {**mine, "new_phone": "07700 900222", "message": "Call after 5pm."}
    refused = client.post(f"{url}/updates", data=sent)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "The referral was changed by someone else" in page
    assert "your change was not saved" in page
    assert 'href="tel:07700900111">07700 900111</a>' in page  # the colleague's number
    assert "New phone number (now on the referral)" in page and f"by {colleague.name}" in page
    assert 'value="07700 900222"' in page and "Call after 5pm." in page  # to send again
    saved = fresh(session, Referral, referral.id)
    assert saved.contact_phone == "07700 900111"
    assert [u.user_id for u in session.scalars(sa.select(ReferralUpdate))] == [colleague.id]
    assert (session.scalar(audited), session.scalar(told)) == (1, 1)

    again = hidden_fields(page, "update")
    assert again == {**mine, "version": str(saved.version)}
    answer = client.post(f"{url}/updates", data={**sent, **again})
    assert answer.status_code == 302
    assert fresh(session, Referral, referral.id).contact_phone == "07700 900222"
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferralUpdate)) == 2


def test_a_service_acting_from_a_page_shown_before_a_message_from_the_referrer_sees_it_first(
    app, client, session, people, referral, clock
):
    """The referrer sends a message alone (no new number) while the service has the
    referral open: the service's click, from the page shown before it, is refused and
    the page shows the message; from the page shown now, it is saved."""
    url = f"/referrals/{referral.id}"
    sign_in(client, "p@t.example")
    assert "Accept" in client.get(url).get_data(as_text=True)  # the page, at version 1
    custody = app.test_client()
    sign_in(custody, "c@t.example")
    fields = hidden_fields(custody.get(url).get_data(as_text=True), "update")
    message = {**fields, "message": "Released early: call today."}
    assert custody.post(f"{url}/updates", data=message).status_code == 302
    accept = {"accept-version": "1", "accept-on": TODAY.isoformat()}
    refused = client.post(f"{url}/accept", data=accept)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "changed by someone else" in page and "Released early: call today." in page
    saved = fresh(session, Referral, referral.id)
    assert (saved.status, saved.version) == ("made", 2)
    assert client.post(f"{url}/accept", data={**accept, "accept-version": "2"}).status_code == 302
    assert fresh(session, Referral, referral.id).status == "accepted"


# -- no duplicates -----------------------------------------------------------------------------


def new_form(client, service_id) -> dict:
    page = client.get(f"/referrals/new?service={service_id}").get_data(as_text=True)
    token = re.search(
        r'id="form_token" name="form_token" type="hidden" value="([^"]+)"', page
    ).group(1)
    return referral_form(service_id, form_token=token)


def test_the_same_form_submitted_twice_makes_one_referral(client, session, people):
    sign_in(client, "c@t.example")
    data = new_form(client, people["service"].id)
    first = client.post("/referrals/new", data=data)
    second = client.post("/referrals/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1


def test_a_form_token_longer_than_any_the_form_gives_is_replaced_not_saved(
    client, session, people
):
    """A crafted token too long for its column (a server error on PostgreSQL) is taken
    as none: the referral is made with a token of its own."""
    sign_in(client, "c@t.example")
    data = {**new_form(client, people["service"].id), "form_token": "x" * 100}
    assert client.post("/referrals/new", data=data).status_code == 302
    made = session.scalar(sa.select(Referral))
    assert made.form_token and len(made.form_token) <= 64 and made.form_token != "x" * 100


def _sent_while_a_colleague_edits_the_contact(app, client, monkeypatch, service_id, contact):
    """The new-referral form from ``contact`` sent while a colleague saves an edit of
    that contact (between its reading and the referral's saving); the answer, and the
    form's data to send again."""
    from referrals.tracking import making

    looked_up = making.contact_awaiting

    def and_meanwhile(session_, user, contact_id):
        found = looked_up(session_, user, contact_id)
        with db.engine.begin() as connection:  # a colleague saves an edit of the contact
            connection.execute(
                sa.text("UPDATE custody_contacts SET version = version + 1 WHERE id = :i"),
                {"i": contact.id},
            )
        return found

    data = {**new_form(client, service_id), "contact_id": str(contact.id)}
    data["consent_date"] = dt.date.today().isoformat()
    with app.app_context():
        monkeypatch.setattr(making, "contact_awaiting", and_meanwhile)
        response = client.post("/referrals/new", data=data)
    monkeypatch.undo()
    return response, data


def test_a_contact_changed_by_a_colleague_while_its_referral_is_saved_keeps_the_form(
    app, client, session, people, monkeypatch
):
    """Nothing is saved, nothing is lost: the form comes back as typed, with what
    happened, instead of an error page."""
    contact = make_contact(
        session, recorder=people["custody"], contact_on=dt.date.today(), outcome="referral_made"
    )
    session.commit()
    sign_in(client, "c@t.example")
    response, data = _sent_while_a_colleague_edits_the_contact(
        app, client, monkeypatch, people["service"].id, contact
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "A colleague changed the contact this referral comes from just now" in html
    assert 'value="GLA/26/001234"' in html  # kept as typed
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 0
    # Sent again, it is made and linked to the contact.
    assert client.post("/referrals/new", data=data).status_code == 302
    session.expire_all()
    assert session.get(CustodyContact, contact.id).referral_id is not None


def test_a_form_brought_back_and_filled_in_for_someone_else_makes_a_second_referral(
    client, session, people
):
    """Two people arrested together: the officer makes the first referral, presses Back,
    changes the custody record number and the service, and sends the form again. That
    is a second referral (made once however often it is sent), not the first again; and
    with a mistake in it, it is shown again with the message, not as the first made."""
    sign_in(client, "c@t.example")
    data = new_form(client, people["service"].id)
    first = client.post("/referrals/new", data=data)
    other = {**data, "person_ref": "GLA/26/009999", "service_id": str(people["other_service"].id)}
    mistaken = client.post("/referrals/new", data={**other, "age_band": ""})
    assert mistaken.status_code == 400
    assert "GLA/26/009999" in mistaken.get_data(as_text=True)
    second = client.post("/referrals/new", data=other)
    again = client.post("/referrals/new", data=other)
    assert first.status_code == second.status_code == again.status_code == 302
    assert second.location == again.location != first.location
    session.expire_all()
    made = session.scalars(sa.select(Referral).order_by(Referral.id)).all()
    assert [(r.person_ref, r.service_id) for r in made] == [
        ("GLA/26/001234", people["service"].id),
        ("GLA/26/009999", people["other_service"].id),
    ]
    # The first form, sent once more unchanged, is still the first referral.
    assert client.post("/referrals/new", data=data).location == first.location


def test_ten_parallel_posts_of_one_form_make_one_referral(app, session, people):
    # One officer's signed-in session, the same form sent from ten tabs at once.
    clients = tabs(app, "c@t.example", 10)
    data = new_form(clients[0], people["service"].id)
    answers = post_at_once(clients, "/referrals/new", data)
    assert [a.status_code for a in answers] == [302] * 10
    assert len({a.location for a in answers}) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferralEvent)) == 1


def test_the_same_person_to_the_same_service_within_28_days_asks_first_and_is_flagged(
    client, session, people
):
    earlier = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date.today() - dt.timedelta(days=27),
        person_ref="GLA/26/001234",
    )
    session.commit()
    sign_in(client, "c@t.example")
    data = new_form(client, people["service"].id)
    response = client.post("/referrals/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Is this a new referral?" in page
    assert earlier.reference in page and "Nothing has been saved yet" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 1
    response = client.post("/referrals/new", data={**data, "confirm_duplicate": "y"})
    assert response.status_code == 302
    new = session.scalar(sa.select(Referral).where(Referral.id != earlier.id))
    assert new.possible_duplicate_of_id == earlier.id
    client.post("/logout")
    sign_in(client, "p@t.example")
    assert f"Possible duplicate of {earlier.reference}" in client.get("/worklist").get_data(
        as_text=True
    )


def test_a_person_the_service_does_not_take_is_asked_about_before_the_referral_is_made(
    client, session, people
):
    """A man under 18 to a service for women aged 18 and over: the form comes back with
    the question and nothing saved; "Refer anyway" makes it. An age band that straddles
    the service's youngest age is not asked about."""
    service = make_service(
        session, name="Women's Recovery", gender="female", min_age=18, lat=55.856, lon=-4.21
    )
    young = make_service(session, name="Youth Drugs Team", max_age=21, lat=55.856, lon=-4.21)
    session.commit()
    sign_in(client, "c@t.example")
    data = {**new_form(client, service.id), "age_band": "under_18"}
    asked = client.post("/referrals/new", data=data)
    page = unescape(asked.get_data(as_text=True))
    assert asked.status_code == 200 and "Does the service take this person?" in page
    assert "Women's Recovery takes women only, and this person is recorded as male." in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 0
    made = client.post("/referrals/new", data={**data, "confirm_eligibility": "y"})
    assert made.status_code == 302
    straddling = {**new_form(client, young.id), "age_band": "18_24"}
    assert client.post("/referrals/new", data=straddling).status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(Referral)) == 2


def test_another_suites_referral_is_not_named_when_the_form_comes_back_after_a_contact_change(
    app, client, session, people, monkeypatch
):
    """The form shown again because a colleague changed the contact meanwhile (nothing
    saved) asks nothing about, and names nothing of, another suite's referral of the same
    person; sent again, the new referral is still flagged to the service."""
    earlier = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date.today() - dt.timedelta(days=2),
        person_ref="GLA/26/001234",
    )
    paisley = make_user(
        session, Role.CUSTODY, email="pai@t.example", custody_suite=suite(session, "PAI")
    )
    contact = make_contact(
        session, recorder=paisley, contact_on=dt.date.today(), outcome="referral_made"
    )
    session.commit()
    sign_in(client, "pai@t.example")
    response, data = _sent_while_a_colleague_edits_the_contact(
        app, client, monkeypatch, people["service"].id, contact
    )
    html = response.get_data(as_text=True)
    assert "A colleague changed the contact this referral comes from just now" in html
    assert earlier.reference not in html and "Is this a new referral?" not in html
    assert response.status_code == 400
    assert client.post("/referrals/new", data=data).status_code == 302
    new = session.scalar(sa.select(Referral).where(Referral.id != earlier.id))
    assert new.possible_duplicate_of_id == earlier.id


def test_another_suites_referral_of_the_person_is_never_shown_but_the_service_is_told(
    client, session, people
):
    """The same person to the same service from another custody suite: that referral is
    not this officer's to see (DESIGN.md section 2), so nothing is asked or named; the
    service, which sees both, finds the new one flagged."""
    earlier = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date.today() - dt.timedelta(days=2),
        person_ref="GLA/26/001234",
    )
    make_user(session, Role.CUSTODY, email="pai@t.example", custody_suite=suite(session, "PAI"))
    session.commit()
    sign_in(client, "pai@t.example")
    response = client.post("/referrals/new", data=new_form(client, people["service"].id))
    assert response.status_code == 302
    new = session.scalar(sa.select(Referral).where(Referral.id != earlier.id))
    assert new.possible_duplicate_of_id == earlier.id
    for page in (response.location, f"/referrals/{new.id}"):
        html = client.get(page).get_data(as_text=True)
        assert new.reference in html
        assert earlier.reference not in html and "duplicate" not in html.lower()
    client.post("/logout")
    sign_in(client, "p@t.example")
    assert f"Possible duplicate of {earlier.reference}" in client.get("/worklist").get_data(
        as_text=True
    )
    assert f"Possible duplicate of {earlier.reference}" in client.get(
        f"/referrals/{new.id}"
    ).get_data(as_text=True)


def test_no_question_after_28_days_or_for_another_service(client, session, people):
    make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date.today() - dt.timedelta(days=29),
        person_ref="GLA/26/001234",
    )
    make_referral(
        session,
        service=people["other_service"],
        referrer=people["custody"],
        referred_on=dt.date.today(),
        person_ref="GLA/26/001234",
    )
    session.commit()
    sign_in(client, "c@t.example")
    assert (
        client.post("/referrals/new", data=new_form(client, people["service"].id)).status_code
        == 302
    )


# -- the slip and the form -----------------------------------------------------------------------


def test_the_slip_names_the_service_and_how_to_reach_it_and_nobody(
    client, session, people, referral
):
    sign_in(client, "c@t.example")
    made = client.get(f"/referrals/{referral.id}/made").get_data(as_text=True)
    assert f"/referrals/{referral.id}/slip" in made
    slip = client.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    service = people["service"]
    assert "Your referral to Harbour MAT" in slip and referral.reference in slip
    assert "1 Test Street" in slip and "Monday" in slip and "09:00 to 17:00" in slip
    assert "<svg" in slip and f"http://localhost/services/{service.id}" in slip
    for personal in (referral.person_ref, "Alex Example", "07700 900123", "Prefers mornings"):
        assert personal not in slip
    css = client.get("/static/css/slip.css")
    assert css.get_data(as_text=True).count("size: A5") == 1
    css.close()
    service.confidential_address = True
    session.commit()
    slip = client.get(f"/referrals/{referral.id}/slip").get_data(as_text=True)
    assert (
        "1 Test Street" not in slip
        and "The address is given when the service contacts you." in slip
    )


def test_every_error_link_has_a_field_to_go_to_when_no_service_is_suggested(client, people):
    """No service taking custody referrals near the district: "Choose the service to
    refer to" leads to the (empty) list of services, not to nowhere."""
    sign_in(client, "c@t.example")
    page = client.post(
        "/referrals/new", data=referral_form("", service_id=None, postcode_district="HS1")
    ).get_data(as_text=True)
    targets = re.findall(r'<a href="#([^"]+)">', page.split('class="error-summary"')[1])
    assert "chosen_service" in targets
    for target in targets:
        assert f'id="{target}"' in page, target


def test_form_errors_are_listed_in_the_order_of_the_page(client, people):
    sign_in(client, "c@t.example")
    response = client.post(
        "/referrals/new", data={"service_id": str(people["service"].id), "contact_method": "phone"}
    )
    page = response.get_data(as_text=True)
    summary = page.split('class="error-summary"')[1].split("</ul>")[0]
    listed = re.findall(r'<a href="#([^"]+)"', summary)
    form = page.split('id="referral-form"')[1]
    positions = [form.index(f'id="{field_id}"') for field_id in listed]
    assert listed and positions == sorted(positions), listed
    assert listed.index("pathway-0") > listed.index("postcode_district")
    assert 'class="age-band"' in page  # wide enough for "Choose an age band"


# -- retention and managers ---------------------------------------------------------------


def test_the_purge_erases_attempt_notes_and_update_messages(runner, session, people, referral):
    session.add(
        ContactAttempt(
            referral_id=referral.id,
            attempted_on=referral.referred_on,
            method="phone",
            outcome="spoke",
            note="Said to call Jo on 0141",
        )
    )
    session.add(ReferralUpdate(referral_id=referral.id, message="New hostel address"))
    referral.status, referral.closed_on, referral.close_reason = (
        "closed",
        referral.referred_on,
        "completed",
    )
    session.commit()
    result = runner.invoke(args=["purge-personal-data", "--older-than", "1"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalar(sa.select(ContactAttempt.note)) is None
    assert session.scalar(sa.select(ReferralUpdate.message)) is None
    assert session.scalar(sa.select(ContactAttempt.outcome)) == "spoke"


def test_admins_mark_managers(client, session, people):
    sign_in(client, "a@t.example")
    user = people["provider"]
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "Manager" in page and "gets the daily list of its overdue referrals" in page
    response = client.post(
        f"/admin/users/{user.id}",
        data={
            "email": user.email,
            "name": user.name,
            "role": "provider",
            "organisation_id": str(user.organisation_id),
            "manager": "y",
            "active": "y",
        },
    )
    assert response.status_code == 302
    assert fresh(session, User, user.id).manager
    assert "Manager</span>" in client.get("/admin/users").get_data(as_text=True)
    lead = make_user(session, Role.LEAD, email="l@t.example", areas=[])
    session.commit()
    assert not lead.manager


def test_an_undo_or_a_passing_on_sent_twice_is_answered_as_done_once(
    client, session, people, referral
):
    """A double click: the second request finds the referral already changed, by this
    person a moment ago, exactly as asked, and says it is done, not "not saved"."""
    sign_in(client, "p@t.example")
    client.post(f"/referrals/{referral.id}/accept", data={"accept-version": "1"})
    version = str(fresh(session, Referral, referral.id).version)
    answers = [
        client.post(f"/referrals/{referral.id}/undo", data={"version": version}) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [302, 302]
    assert "Undone" in client.get(answers[1].location).get_data(as_text=True)
    undone = fresh(session, Referral, referral.id)
    assert undone.status == "made"
    assert [e.reason for e in undone.events].count("undo") == 1
    passing_on = {
        "version": str(undone.version),
        "service": str(people["other_service"].id),
        "consent": "y",
        "note": "Needs detox first.",
    }
    answers = [
        client.post(f"/referrals/{referral.id}/refer-on", data=passing_on) for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [302, 302]
    page = client.get(answers[1].location).get_data(as_text=True)
    assert "passed on" in page and "changed by someone else" not in page
    made = sa.select(sa.func.count()).where(Referral.referred_from_id == referral.id)
    assert session.scalar(made) == 1
