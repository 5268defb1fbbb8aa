"""Who a message goes to is checked when it is sent, not when it was queued: people who
can no longer see a referral, or who left an organisation, are not told of it; the
accounts registered systems act through are nobody's inbox; and a service's inbox is
the one set when the message is sent, so a failed message sent again after an
administrator put things right reaches it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.extensions import db
from referrals.notifications.kinds import Kind, Status
from referrals.notifications.models import Notification
from referrals.notifications.outbox import withdraw_status_message
from referrals.notifications.schedule import queue_stale, queue_weekly_summary

from . import test_notifications as sending
from .factories import (
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_auth import sign_in
from .test_notifications import NOON, deliver, make_referral_through_the_form, rows

# The notification tests' fixtures: their clock, mail server and people.
clock, mailbox, people, smtp = sending.clock, sending.mailbox, sending.people, sending.smtp


def accept(client, referral) -> None:
    sign_in(client, "manager@harbour.example.org")
    response = client.post(
        f"/referrals/{referral.id}/accept",
        data={"accept-version": "1", "accept-on": referral.referred_on.isoformat()},
    )
    assert response.status_code == 302
    client.post("/logout")


def sent_to(mailbox) -> list[str]:
    return sorted(m["To"] for m in mailbox.messages)


# -- people who can no longer see the referral -------------------------------------------


@pytest.mark.parametrize("change", ["moved to another suite", "role changed"])
def test_a_referrer_who_can_no_longer_see_the_referral_is_not_told_of_it(
    app, client, session, people, smtp, mailbox, clock, change
):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    officer = people["custody"]
    if change == "moved to another suite":
        officer.custody_suite_id = suite(session, "ABD-KB").id
    else:
        officer.role, officer.custody_suite_id = Role.LEAD, None
    session.commit()
    accept(client, referral)
    clock.advance(minutes=17)
    deliver(app)
    told = [m["Subject"] for m in mailbox.to("officer@police.example")]
    assert not [subject for subject in told if "accepted" in subject]
    [row] = rows(session, kind=Kind.ACCEPTED)
    assert row.status == Status.CANCELLED
    assert "can no longer see this referral" in row.last_error


def test_a_referrer_still_in_the_suite_is_told(app, client, session, people, smtp, mailbox, clock):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    accept(client, referral)
    clock.advance(minutes=17)
    deliver(app)
    assert len(mailbox.to("officer@police.example")) == 1


def test_staff_who_moved_organisation_before_their_copy_was_sent_are_not_told(
    app, session, people, smtp, mailbox, clock
):
    """An organisation without an inbox is told through one message per member of
    staff; one who moved to another organisation before theirs was sent is not told."""
    referral = make_referral(session, service=people["service"], referrer=people["custody"])
    for key, user in enumerate((people["provider"], people["worker"])):
        session.add(
            Notification(
                kind=Kind.NEW_REFERRAL,
                referral=referral,
                user_id=user.id,
                dedupe_key=f"split:0:{key}",
                next_attempt_at=NOON,
            )
        )
    people["worker"].organisation_id = make_organisation(session, "Elsewhere").id
    session.commit()
    deliver(app)
    assert sent_to(mailbox) == ["manager@harbour.example.org"]
    [moved] = rows(session, user_id=people["worker"].id)
    assert moved.status == Status.CANCELLED and "can no longer see" in moved.last_error


def _digest(session, user, organisation) -> Notification:
    row = Notification(
        kind=Kind.OVERDUE_DIGEST,
        user_id=user.id,
        organisation_id=organisation.id,
        payload='{"organisation": "Harbour Recovery", "count": 1, "items": [["RP-1", "MAT"]]}',
        next_attempt_at=NOON,
    )
    session.add(row)
    return row


def test_a_manager_who_moved_organisation_gets_no_digest_of_the_old_one(
    app, session, people, smtp, mailbox, clock
):
    _digest(session, people["provider"], people["org"])
    people["provider"].organisation_id = make_organisation(session, "Elsewhere").id
    _digest(session, people["worker"], people["org"])  # still there: gets it
    session.commit()
    deliver(app)
    assert sent_to(mailbox) == ["worker@harbour.example.org"]
    moved = rows(session, user_id=people["provider"].id)[0]
    assert moved.status == Status.CANCELLED and "no longer" in moved.last_error


# -- the accounts registered systems act through --------------------------------------------


def test_a_referral_a_custody_system_made_sends_no_email_to_its_account(
    app, client, session, people, smtp, mailbox, clock
):
    system, _ = make_api_client(session, Role.CUSTODY, suites=[suite(session, "GLA-LR")])
    referral = make_referral(
        session, service=people["service"], referrer=system.user, referred_on=clock.at.date()
    )
    session.commit()
    accept(client, referral)
    clock.advance(minutes=17)
    deliver(app)
    assert not [to for to in sent_to(mailbox) if to.endswith(".invalid")]
    [row] = rows(session, kind=Kind.ACCEPTED)
    assert row.status == Status.CANCELLED and "registered system" in row.last_error


def test_an_organisation_without_an_inbox_is_told_through_its_people_not_its_case_system(
    app, client, session, people, smtp, mailbox, clock
):
    people["service"].referral_email = people["org"].referral_email = None
    make_api_client(session, Role.PROVIDER, organisation=people["org"])
    session.commit()
    make_referral_through_the_form(client, people)
    deliver(app)
    deliver(app)
    assert sent_to(mailbox) == ["manager@harbour.example.org", "worker@harbour.example.org"]


def test_an_organisation_with_only_a_case_system_to_tell_is_shown_to_administrators(
    app, client, session, people, smtp, mailbox, clock
):
    lonely = make_organisation(session, "Quiet Trust")
    service = make_service(session, organisation=lonely, name="Quiet MAT")
    make_api_client(session, Role.PROVIDER, organisation=lonely)
    session.commit()
    make_referral_through_the_form(client, dict(people, service=service))
    deliver(app)
    deliver(app)
    assert mailbox.messages == []
    [row] = rows(session, kind=Kind.NEW_REFERRAL)
    assert row.status == Status.FAILED
    assert "Quiet Trust has no referral inbox and no active staff" in row.last_error


def test_digests_and_reminders_never_go_to_a_systems_account(app, session, people):
    case_system, _ = make_api_client(session, Role.PROVIDER, organisation=people["org"])
    reports_system, _ = make_api_client(session, Role.LEAD)
    lead = make_user(session, Role.LEAD, email="lead@adp.example")
    people["service"].last_verified_on = dt.date(2026, 1, 1)
    session.commit()
    with app.app_context():
        queue_stale(db.session, dt.date(2026, 12, 7), "2026-W50")
        queue_weekly_summary(db.session, dt.date(2026, 12, 7), "2026-W50")
        db.session.commit()
        db.session.remove()
    told = {r.user_id for r in rows(session)}
    assert told == {people["provider"].id, people["worker"].id, lead.id}
    assert not told & {case_system.user_id, reports_system.user_id}


# -- the service's inbox, as it is when the message is sent ---------------------------------


def test_a_failed_new_referral_reaches_the_inbox_an_administrator_set_before_sending_it_again(
    app, client, session, people, smtp, mailbox, clock
):
    new = make_organisation(session, "New Org")
    service = make_service(session, organisation=new, name="New Org MAT")
    session.commit()
    make_referral_through_the_form(client, dict(people, service=service))
    deliver(app)
    [row] = rows(session, kind=Kind.NEW_REFERRAL)
    assert row.status == Status.FAILED and "New Org has no referral inbox" in row.last_error
    service.referral_email = "referrals@neworg.example"
    session.commit()
    sign_in(client, "admin@t.example")
    client.post("/admin/outbox/retry", data={"id": str(row.id)})
    deliver(app)
    [row] = rows(session, kind=Kind.NEW_REFERRAL)
    assert row.status == Status.SENT and row.address == "referrals@neworg.example"
    assert sent_to(mailbox) == ["referrals@neworg.example"]


def test_a_refused_inbox_corrected_by_the_provider_is_used_when_sent_again(
    app, client, session, people, smtp, mailbox, clock
):
    mailbox.refuse.add("mat-referrals@harbour.example.org")
    make_referral_through_the_form(client, people)
    deliver(app)
    [row] = rows(session)
    assert row.status == Status.FAILED and "refused the address" in row.last_error
    people["service"].referral_email = "new-inbox@harbour.example.org"
    session.commit()
    sign_in(client, "admin@t.example")
    client.post("/admin/outbox/retry", data={"id": str(row.id)})
    deliver(app)
    [row] = rows(session)
    assert row.status == Status.SENT and row.address == "new-inbox@harbour.example.org"
    assert sent_to(mailbox) == ["new-inbox@harbour.example.org"]


def test_a_message_queued_before_the_inbox_changed_goes_to_the_new_inbox(
    app, session, people, smtp, mailbox, clock
):
    """Rows queued by an earlier version carry the inbox of that time: it is looked up
    again too."""
    referral = make_referral(session, service=people["service"], referrer=people["custody"])
    session.add(
        Notification(
            kind=Kind.NEW_REFERRAL,
            referral=referral,
            address="old-inbox@harbour.example.org",
            next_attempt_at=NOON,
        )
    )
    session.commit()
    deliver(app)
    assert sent_to(mailbox) == ["mat-referrals@harbour.example.org"]


# -- withdrawing a message still held ---------------------------------------------------------


def test_a_held_message_is_withdrawn_with_the_reason_given(app, session, people, clock):
    referral = make_referral(session, service=people["service"], referrer=people["custody"])
    held = Notification(kind=Kind.CLOSED, referral=referral, user_id=people["custody"].id)
    sent = Notification(
        kind=Kind.CLOSED, referral=referral, user_id=people["custody"].id, status=Status.SENT
    )
    accepted = Notification(kind=Kind.ACCEPTED, referral=referral, user_id=people["custody"].id)
    session.add_all([held, sent, accepted])
    session.commit()
    withdraw_status_message(session, referral.id, "closed", why="The referral was reopened.")
    session.commit()
    session.expire_all()
    assert (held.status, held.last_error) == (Status.CANCELLED, "The referral was reopened.")
    assert sent.status == Status.SENT and accepted.status == Status.PENDING
    withdraw_status_message(session, referral.id, "accepted")
    session.commit()
    session.expire_all()
    assert (accepted.status, accepted.last_error) == (Status.CANCELLED, "The change was undone.")
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 3


def test_a_referral_reopened_while_its_closing_is_held_sends_neither(
    app, client, session, people, smtp, mailbox, clock
):
    """Closed by mistake and reopened by an administrator a few minutes later: the
    referrer is not told it was closed, nor that it was "accepted" a second time."""
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    day = clock.at.date().isoformat()
    sign_in(client, "manager@harbour.example.org")
    accepted = client.post(
        f"/referrals/{referral.id}/accept", data={"accept-version": "1", "accept-on": day}
    )
    assert accepted.status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    closed = client.post(
        f"/referrals/{referral.id}/close",
        data={"close-version": "2", "close-on": day, "close-reason": "not_contactable"},
    )
    assert closed.status_code == 302
    client.post("/logout")
    clock.advance(minutes=3)
    sign_in(client, "admin@t.example")
    reopened = client.post(
        f"/referrals/{referral.id}/reopen",
        data={"reopen-version": "3", "reopen-on": day, "reopen-note": "Closed by mistake"},
    )
    assert reopened.status_code == 302
    clock.advance(minutes=20)
    deliver(app)
    subjects = [m["Subject"] for m in mailbox.to("officer@police.example")]
    assert len(subjects) == 1 and "accepted" in subjects[0]
    closing = [n for n in rows(session) if n.kind == Kind.CLOSED]
    assert [(n.status, n.last_error) for n in closing] == [
        (Status.CANCELLED, "The referral was reopened.")
    ]


def test_a_failed_closing_message_is_not_sent_again_once_the_referral_is_reopened(
    app, client, session, people, smtp, mailbox, clock
):
    """The mail system refused the "closed" message for a day; the referral was then
    reopened. Pressing "Try again" on the outbox must not tell the referrer it closed."""
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    day = clock.at.date().isoformat()
    sign_in(client, "manager@harbour.example.org")
    client.post(f"/referrals/{referral.id}/accept", data={"accept-version": "1", "accept-on": day})
    client.post(
        f"/referrals/{referral.id}/close",
        data={"close-version": "2", "close-on": day, "close-reason": "not_contactable"},
    )
    [closing] = [n for n in rows(session) if n.kind == Kind.CLOSED]
    closing.status, closing.last_error = Status.FAILED, "Could not reach the mail server"
    session.commit()
    client.post("/logout")
    clock.advance(days=1)
    sign_in(client, "admin@t.example")
    reopened = client.post(
        f"/referrals/{referral.id}/reopen",
        data={"reopen-version": "3", "reopen-on": day, "reopen-note": "Closed by mistake"},
    )
    assert reopened.status_code == 302
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "Could not reach the mail server" not in page
    retried = client.post(
        "/admin/outbox/retry", data={"id": str(closing.id)}, follow_redirects=True
    )
    assert "Nothing to try again" in retried.get_data(as_text=True)
    deliver(app)
    subjects = [m["Subject"] for m in mailbox.to("officer@police.example")]
    assert not any("closed" in subject.lower() for subject in subjects)
    session.expire_all()
    closing = session.get(Notification, closing.id)
    assert (closing.status, closing.last_error) == (
        Status.CANCELLED,
        "The referral was reopened.",
    )
