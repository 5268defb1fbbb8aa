"""Forms that make something keep one copy when sent twice: a double click on "Log the
attempt", "Send the update", "Save contact" or a shift's batch of contacts, or the same
form from two tabs at once. Each blank form carries a one-time token; the second submit
is answered as the first was and saves nothing."""

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from referrals.contacts.models import CustodyContact
from referrals.models import FormSubmission, Referral
from referrals.notifications.models import Notification
from referrals.privacy.purge import run_scheduled_purge
from referrals.tracking.models import ContactAttempt, ReferralUpdate

from .factories import make_referral
from .tabs import post_at_once, tabs
from .test_auth import sign_in
from .test_contacts import batch, contact_form, row
from .test_contacts import people as contact_people  # noqa: F401 - a fixture
from .test_follow_through import TODAY, clock, hidden_fields, people, referral  # noqa: F401


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def token_in(html: str, form_id: str | None = None) -> str:
    if form_id:
        html = html[html.index(f'id="{form_id}"') :]
    return re.search(r'name="form_token"[^>]*value="([^"]+)"', html).group(1)


def twice(client, url, data):
    first, second = client.post(url, data=data), client.post(url, data=data)
    assert first.status_code == second.status_code == 302, (first.status_code, second.status_code)
    assert first.location == second.location
    return first


def test_a_double_click_logs_one_contact_attempt(client, session, people, referral, clock):  # noqa: F811
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    data = {
        "attempted_on": TODAY.isoformat(),
        "method": "phone",
        "outcome": "no_answer",
        "form_token": token_in(page, "attempt"),
    }
    twice(client, f"/referrals/{referral.id}/attempts", data)
    assert count(session, ContactAttempt) == 1
    # A new blank form is a new attempt.
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    assert token_in(page, "attempt") != data["form_token"]
    client.post(f"/referrals/{referral.id}/attempts", data={**data, "form_token": token_in(page)})
    assert count(session, ContactAttempt) == 2


def test_a_double_click_sends_one_update(client, session, people, referral, clock):  # noqa: F811
    """One update, and the service is told once."""
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    notifications = count(session, Notification)
    data = {"message": "Released to a hostel.", **hidden_fields(page, "update")}
    twice(client, f"/referrals/{referral.id}/updates", data)
    assert count(session, ReferralUpdate) == 1
    assert count(session, Notification) == notifications + 1


def test_a_double_click_on_an_update_with_a_new_number_is_not_taken_for_a_colleagues_change(
    client,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    clock,  # noqa: F811
):
    """The first click's new number changes the referral, so the second comes from a page
    shown before that change: it is answered as the first, not refused as out of date."""
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    data = {"new_phone": "07700 900111", **hidden_fields(page, "update")}
    answer = twice(client, f"/referrals/{referral.id}/updates", data)
    shown = client.get(answer.location).get_data(as_text=True)
    assert f"Update added to referral {referral.reference}" in shown
    assert "changed by someone else" not in shown
    assert count(session, ReferralUpdate) == 1
    assert session.get(Referral, referral.id).contact_phone == "07700 900111"


def test_an_update_with_a_new_number_sent_from_several_tabs_at_once_is_sent_once(
    app,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    clock,  # noqa: F811
):
    clients = tabs(app, "c@t.example", 4)
    page = clients[0].get(f"/referrals/{referral.id}").get_data(as_text=True)
    data = {"new_phone": "07700 900111", **hidden_fields(page, "update")}
    answers = post_at_once(clients, f"/referrals/{referral.id}/updates", data)
    assert [a.status_code for a in answers] == [302] * len(clients)
    assert count(session, ReferralUpdate) == 1
    assert count(session, Notification) == 1


@pytest.fixture
def another(session, people):  # noqa: F811
    """A second referral from the same suite to the same service."""
    made = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=TODAY - dt.timedelta(days=2),
    )
    session.commit()
    return made


def test_a_contact_attempt_sent_with_another_referrals_form_is_logged_there_alone(
    client,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    another,
    clock,  # noqa: F811
):
    """Its token sent by hand with another referral's form: that is not the first form
    sent again (it goes elsewhere), so the attempt is logged on the other referral, once
    however often it is sent, and the answer says nothing of the first."""
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    attempt = {"attempted_on": TODAY.isoformat(), "method": "phone", "outcome": "no_answer"}
    attempt["form_token"] = token_in(page, "attempt")
    first = client.post(f"/referrals/{referral.id}/attempts", data=attempt)
    client.get(first.location)  # its message read
    again = twice(client, f"/referrals/{another.id}/attempts", attempt)
    assert first.location == f"/referrals/{referral.id}#timeline"
    assert again.location == f"/referrals/{another.id}#timeline"
    shown = client.get(again.location).get_data(as_text=True)
    assert f"Contact attempt logged for referral {another.reference}." in shown
    assert referral.reference not in shown
    assert sorted(session.scalars(sa.select(ContactAttempt.referral_id)).all()) == sorted(
        [referral.id, another.id]
    )


def test_an_update_sent_with_another_referrals_form_goes_to_that_referral_alone(
    client,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    another,
    clock,  # noqa: F811
):
    """Its token sent by hand with another referral's form: the update is that
    referral's, once, and the first referral's update is not named."""
    sign_in(client, "c@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    update = {"new_phone": "07700 900111", **hidden_fields(page, "update")}
    first = client.post(f"/referrals/{referral.id}/updates", data=update)
    client.get(first.location)  # its message read
    page = client.get(f"/referrals/{another.id}").get_data(as_text=True)
    by_hand = {**update, **hidden_fields(page, "update"), "form_token": update["form_token"]}
    again = twice(client, f"/referrals/{another.id}/updates", by_hand)
    assert first.location == f"/referrals/{referral.id}#timeline"
    assert again.location == f"/referrals/{another.id}#timeline"
    shown = client.get(again.location).get_data(as_text=True)
    assert f"Update added to referral {another.reference};" in shown
    assert referral.reference not in shown
    session.expire_all()
    assert sorted(session.scalars(sa.select(ReferralUpdate.referral_id)).all()) == sorted(
        [referral.id, another.id]
    )
    assert session.get(Referral, another.id).contact_phone == "07700 900111"


def test_a_form_brought_back_changed_and_sent_again_is_a_new_save(
    client,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    clock,  # noqa: F811
):
    """The browser's Back button brings back a sent form with its token: changed (the
    next try's outcome) and sent, it is a second attempt, itself saved once however often
    it is sent; sent unchanged, it is the first again."""
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    attempt = {"attempted_on": TODAY.isoformat(), "method": "phone", "outcome": "no_answer"}
    attempt["form_token"] = token_in(page, "attempt")
    url = f"/referrals/{referral.id}/attempts"
    twice(client, url, attempt)
    twice(client, url, {**attempt, "outcome": "message_left"})
    client.post(url, data=attempt)
    session.expire_all()
    outcomes = session.scalars(sa.select(ContactAttempt.outcome).order_by(ContactAttempt.id))
    assert [str(getattr(o, "value", o)) for o in outcomes] == ["no_answer", "message_left"]


def test_a_contact_form_brought_back_and_filled_in_for_someone_else_saves_both(
    client,
    session,
    contact_people,  # noqa: F811
):
    """Two people brought in together: the officer saves the first, goes Back, changes
    the answers and saves again. Both are kept (once each, however often sent)."""
    sign_in(client, "c@t.example")
    page = client.get("/contacts/new").get_data(as_text=True)
    first = contact_form(form_token=token_in(page))
    twice(client, "/contacts/new", first)
    twice(client, "/contacts/new", {**first, "sex": "male", "age_band": "35_44"})
    assert count(session, CustodyContact) == 2


def test_a_token_seen_on_a_colleagues_screen_gives_nothing_of_theirs(
    app,
    session,
    contact_people,  # noqa: F811
):
    """Another officer sending the same answers with a colleague's used token saves
    their own contact, and is not sent to the colleague's."""
    first, second = tabs(app, "c@t.example", 1)[0], app.test_client()
    token = token_in(first.get("/contacts/new").get_data(as_text=True))
    first.post("/contacts/new", data=contact_form(form_token=token))
    from referrals.choices import Role

    from .factories import make_user

    suite = session.scalar(sa.select(CustodyContact.custody_suite_id))
    make_user(session, Role.CUSTODY, email="c2@t.example", custody_suite_id=suite)
    session.commit()
    sign_in(second, "c2@t.example")
    assert second.post("/contacts/new", data=contact_form(form_token=token)).status_code == 302
    session.expire_all()
    makers = session.scalars(sa.select(CustodyContact.recorded_by_id)).all()
    assert len(makers) == 2 and len(set(makers)) == 2


def test_a_form_shown_again_with_a_message_keeps_its_token(client, people, referral, clock):  # noqa: F811
    sign_in(client, "p@t.example")
    page = client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    token = token_in(page, "attempt")
    refused = client.post(
        f"/referrals/{referral.id}/attempts",
        data={"attempted_on": TODAY.isoformat(), "form_token": token},
    )
    assert refused.status_code == 400
    assert token_in(refused.get_data(as_text=True), "attempt") == token


def test_a_double_click_saves_one_custody_contact(client, session, contact_people):  # noqa: F811
    sign_in(client, "c@t.example")
    page = client.get("/contacts/new").get_data(as_text=True)
    data = contact_form(form_token=token_in(page))
    twice(client, "/contacts/new", data)
    assert count(session, CustodyContact) == 1
    # "Referral made" sends both answers on to the referral form for the one contact.
    page = client.get("/contacts/new").get_data(as_text=True)
    data = contact_form(outcome="referral_made", decline_reason=None, form_token=token_in(page))
    first = twice(client, "/contacts/new", data)
    assert count(session, CustodyContact) == 2
    assert "contact=" in first.location


def test_a_double_click_saves_a_shifts_batch_once(client, session, contact_people):  # noqa: F811
    sign_in(client, "c@t.example")
    page = client.get("/contacts/new/batch").get_data(as_text=True)
    data = batch([row(), row(sex="male")], form_token=token_in(page))
    twice(client, "/contacts/new/batch", data)
    assert count(session, CustodyContact) == 2
    listing = client.get("/contacts").get_data(as_text=True)
    assert "These contacts were saved already" in listing


def test_one_contact_form_sent_from_several_tabs_at_once_is_saved_once(
    app,
    session,
    contact_people,  # noqa: F811
):
    clients = tabs(app, "c@t.example", 6)
    data = contact_form(
        form_token=token_in(clients[0].get("/contacts/new").get_data(as_text=True))
    )
    answers = post_at_once(clients, "/contacts/new", data)
    assert [a.status_code for a in answers] == [302] * len(clients)
    assert count(session, CustodyContact) == 1


def test_tokens_are_forgotten_after_a_day_by_the_daily_purge(app, session):
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    for token, hours in (("old", 25), ("new", 23)):
        session.add(
            FormSubmission(token=token, kind="test", made_at=now - dt.timedelta(hours=hours))
        )
    session.commit()
    with app.test_request_context():
        summary = run_scheduled_purge(session, now=now)
        session.commit()
    assert summary.form_tokens == 1
    assert session.scalars(sa.select(FormSubmission.token)).all() == ["new"]


def test_a_double_click_on_accept_today_says_it_is_accepted_not_that_someone_else_changed_it(
    client,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    clock,  # noqa: F811
):
    from referrals.models import ReferralEvent

    sign_in(client, "p@t.example")
    data = {"accept-version": str(referral.version), "accept-on": TODAY.isoformat()}
    data["back"] = "worklist"
    first = client.post(f"/referrals/{referral.id}/accept", data=data)
    second = client.post(f"/referrals/{referral.id}/accept", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location == "/worklist"
    page = client.get("/worklist").get_data(as_text=True)
    assert "changed by someone else" not in page and "accepted" in page.lower()
    events = session.scalars(
        sa.select(ReferralEvent.to_status).where(ReferralEvent.referral_id == referral.id)
    ).all()
    assert [str(s.value if hasattr(s, "value") else s) for s in events] == ["made", "accepted"]


def test_a_change_a_colleague_made_meanwhile_is_still_told(
    client,
    app,
    session,
    people,  # noqa: F811
    referral,  # noqa: F811
    clock,  # noqa: F811
):
    colleague = app.test_client()
    sign_in(colleague, "p2@t.example")
    sign_in(client, "p@t.example")
    data = {"accept-version": str(referral.version), "accept-on": TODAY.isoformat()}
    assert colleague.post(f"/referrals/{referral.id}/accept", data=data).status_code == 302
    mine = client.post(f"/referrals/{referral.id}/accept", data=data)
    assert mine.status_code == 409
    assert "changed by someone else" in mine.get_data(as_text=True)


def test_a_double_click_adds_one_listing_and_saves_an_edit_once(client, session):
    from referrals.choices import Role
    from referrals.models import Service

    from .factories import make_organisation, make_user
    from .test_directory_upkeep import edit_form

    organisation = make_organisation(session, "Harbour Recovery")
    make_user(session, Role.PROVIDER, email="lister@t.example", organisation=organisation)
    session.commit()
    sign_in(client, "lister@t.example")
    page = client.get("/services/new").get_data(as_text=True)
    listing = edit_form(Service(name="Harbour Drop-in"), form_token=token_in(page))
    twice(client, "/services/new", listing)
    assert count(session, Service) == 1
    service = session.scalar(sa.select(Service))
    page = client.get(f"/services/{service.id}/edit").get_data(as_text=True)
    edited_from = re.search(r'name="edited_from" type="hidden" value="([^"]+)"', page).group(1)
    changed = {**listing, "alert": "Closed on Friday", "edited_from": edited_from}
    changed["form_token"] = token_in(page)
    # The second click is not taken for someone else's change made meanwhile.
    twice(client, f"/services/{service.id}/edit", changed)


def test_a_double_click_sends_one_problem_report_and_one_piece_of_feedback(client, session):
    from referrals.about.models import Feedback
    from referrals.models import ListingProblem

    from .factories import make_service

    service = make_service(session, name="Harbour MAT")
    session.commit()
    page = client.get(f"/services/{service.id}/report-problem").get_data(as_text=True)
    report = {"category": "wrong_phone", "description": "The number rings out."}
    report["form_token"] = token_in(page)
    twice(client, f"/services/{service.id}/report-problem", report)
    assert count(session, ListingProblem) == 1
    page = client.get("/contact").get_data(as_text=True)
    twice(client, "/contact", {"message": "Very useful.", "form_token": token_in(page)})
    assert count(session, Feedback) == 1


def test_a_token_sent_with_another_kind_of_form_is_a_new_save(client, session):
    """The feedback form's token sent by hand with a problem report (or a stale page's):
    not a repeat of the feedback, so the report is saved, not a server error."""
    from referrals.about.models import Feedback
    from referrals.models import ListingProblem

    from .factories import make_service

    service = make_service(session, name="Harbour MAT")
    session.commit()
    token = token_in(client.get("/contact").get_data(as_text=True))
    assert (
        client.post("/contact", data={"message": "Useful.", "form_token": token}).status_code
        == 302
    )
    report = {"category": "wrong_phone", "description": "Rings out.", "form_token": token}
    answer = client.post(f"/services/{service.id}/report-problem", data=report)
    assert answer.status_code == 302
    assert count(session, Feedback) == 1 and count(session, ListingProblem) == 1
