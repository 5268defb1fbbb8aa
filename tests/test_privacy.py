"""The scheduled purge and the subject-access export."""

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from referrals.about.models import Feedback
from referrals.auth.models import UserSession
from referrals.choices import Role
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import AuditEvent, ListingProblem, Referral, ReferralEvent
from referrals.privacy.purge import run_scheduled_purge
from referrals.tracking.models import ContactAttempt, ReferralUpdate

from .factories import (
    make_contact,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_auth import sign_in


@pytest.fixture
def people(session):
    org = make_organisation(session, "Org X")
    service = make_service(session, organisation=org, name="Service X")
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    make_user(session, Role.PROVIDER, email="p@t.example", organisation=org)
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    return {"service": service, "custody": custody}


def refer(session, people, days_ago=0, **fields):
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=dt.date.today() - dt.timedelta(days=days_ago),
        **fields,
    )
    session.commit()
    return referral


# -- subject access ---------------------------------------------------------------------


def test_an_administrator_exports_everything_about_one_person(client, session, people):
    first = refer(session, people, 30, person_ref="GLA/26/1234", notes="Prefers mornings")
    session.add(
        ReferralEvent(
            referral=first,
            user_id=people["custody"].id,
            from_status="made",
            to_status="accepted",
            event_date=dt.date.today(),
            note="Spoke on the phone",
        )
    )
    second = refer(session, people, 2, person_ref="gla/26/1234 ")
    refer(session, people, 1, person_ref="GLA/26/9999")  # someone else
    first.treatment_started_on = dt.date.today() - dt.timedelta(days=20)
    first.bbv_test_offered_on = dt.date.today() - dt.timedelta(days=10)
    session.add_all(
        [
            ContactAttempt(
                referral=first,
                user_id=people["custody"].id,
                attempted_on=dt.date.today() - dt.timedelta(days=28),
                method="phone",
                outcome="no_answer",
                note="Left a message with his sister",
            ),
            ReferralUpdate(
                referral=first,
                user_id=people["custody"].id,
                release_on=dt.date.today() - dt.timedelta(days=29),
                message="Released to 5 Low Road",
            ),
        ]
    )
    make_contact(
        session,
        recorder=people["custody"],
        contact_on=dt.date.today() - dt.timedelta(days=30),
        outcome="referral_made",
        referral_id=first.id,
        veteran=True,
    )
    session.commit()
    sign_in(client, "a@t.example")
    page = client.get("/admin/subject-access")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    found = client.post("/admin/subject-access", data={"person_ref": "GLA/26/1234"})
    html = found.get_data(as_text=True)
    assert "2 referrals found" in html
    assert first.reference in html and second.reference in html
    download = client.post(
        "/admin/subject-access", data={"person_ref": "GLA/26/1234", "download": "1"}
    )
    assert download.mimetype == "application/json"
    assert "attachment" in download.headers["Content-Disposition"]
    data = json.loads(download.get_data(as_text=True))
    assert [r["reference"] for r in data["referrals"]] == [first.reference, second.reference]
    record = data["referrals"][0]
    assert record["custody_record_number"] == "GLA/26/1234"
    assert record["contact_name"] == "Alex Example" and record["notes"] == "Prefers mornings"
    assert record["history"][-1]["note"] == "Spoke on the phone"
    # Everything else held about the person: outcomes, attempts, updates, the contact.
    assert record["blood_borne_virus_test_offered_on"] is not None
    assert record["contact_attempts"][0]["note"] == "Left a message with his sister"
    assert record["custody_updates"][0]["message"] == "Released to 5 Low Road"
    assert record["custody_updates"][0]["release_on"] is not None
    assert record["custody_contact"]["veteran"] is True
    assert record["custody_contact"]["outcome"] == "Referral made"
    assert data["referrals"][1]["custody_contact"] is None
    assert "Test custody" not in json.dumps(data)  # staff are named by role, not name
    assert "Custody / arrest referral, London Road" in record["history"][-1]["recorded_by"]
    audited = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action.like("subject_access%"))
    ).all()
    assert [a.action for a in audited] == ["subject_access_searched", "subject_access_exported"]
    assert json.loads(audited[1].detail) == {"ids": [first.id, second.id]}
    assert all("1234" not in (a.detail or "") for a in audited)


@pytest.mark.parametrize("email", ["c@t.example", "p@t.example"])
def test_only_administrators_may_export(client, people, email):
    sign_in(client, email)
    assert client.get("/admin/subject-access").status_code == 403
    assert client.post("/admin/subject-access", data={"person_ref": "X"}).status_code == 403


def test_no_match_says_so(client, people):
    sign_in(client, "a@t.example")
    html = client.post("/admin/subject-access", data={"person_ref": "NOBODY"}).get_data(
        as_text=True
    )
    assert "0 referrals found" in html and "No referral is recorded" in html
    empty = client.post("/admin/subject-access", data={"person_ref": ""})
    assert empty.status_code == 400
    assert "Enter the custody record number." in empty.get_data(as_text=True)


# -- the scheduled purge ----------------------------------------------------------------


def test_the_scheduled_purge_uses_the_configured_retention(app_factory, session, people):
    app = app_factory(PERSONAL_DATA_RETENTION_DAYS=100, PROBLEM_CONTACT_RETENTION_DAYS=30)
    old = refer(
        session, people, 300, status="closed", closed_on=dt.date.today() - dt.timedelta(days=200)
    )
    recent = refer(
        session, people, 60, status="closed", closed_on=dt.date.today() - dt.timedelta(days=50)
    )
    now = dt.datetime.now(dt.UTC)
    session.add_all(
        [
            ListingProblem(
                service=people["service"],
                category="wrong_phone",
                description="Rings out",
                reporter_contact="old@reporter.example",
                resolved_at=now - dt.timedelta(days=31),
            ),
            ListingProblem(
                service=people["service"],
                category="wrong_phone",
                description="Rings out",
                reporter_contact="open@reporter.example",
            ),
            UserSession(
                user_id=people["custody"].id,
                token_hash="x" * 64,
                expires_at=now - dt.timedelta(days=3),
            ),
        ]
    )
    session.commit()
    with app.app_context():
        summary = run_scheduled_purge(db.session)
        db.session.commit()
    assert (summary.referrals.erased, summary.problem_contacts, summary.sessions) == (1, 1, 1)
    session.expire_all()
    assert session.get(Referral, old.id).contact_name is None
    assert session.get(Referral, recent.id).contact_name == "Alex Example"
    contacts = session.scalars(
        sa.select(ListingProblem.reporter_contact).order_by(ListingProblem.id)
    ).all()
    assert contacts == [None, "open@reporter.example"]
    assert session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
    row = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "personal_data_purged"))
    assert row.actor == "scheduled purge" and json.loads(row.detail)["older_than_days"] == 100


def test_the_purge_command_defaults_to_the_configured_retention(runner, session, people):
    refer(
        session, people, 900, status="closed", closed_on=dt.date.today() - dt.timedelta(days=800)
    )
    result = runner.invoke(args=["purge-personal-data", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "1 would be erased" in result.output  # 730 days by default
    assert (
        "PERSONAL_DATA_RETENTION_DAYS"
        in runner.invoke(args=["purge-personal-data", "--help"]).output
    )


def test_the_sender_runs_the_purge_and_the_report_figures_once_a_day(app_factory, session, people):
    import threading

    from referrals.notifications.cli import run
    from referrals.reports.snapshot import ReportSnapshot

    app = app_factory(SENDER_DAILY_WORK=True, PERSONAL_DATA_RETENTION_DAYS=100)
    old = refer(
        session, people, 300, status="closed", closed_on=dt.date.today() - dt.timedelta(days=200)
    )
    for _ in range(2):  # a sender restarted the same day purges nothing more
        with app.app_context():
            run(threading.Event(), interval=1, batch=10, once=True)
    session.expire_all()
    assert session.get(Referral, old.id).contact_name is None
    purges = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "personal_data_purged")
    ).all()
    assert len(purges) == 1 and json.loads(purges[0].detail)["erased"] == 1
    built = session.scalars(sa.select(ReportSnapshot.as_of)).all()
    assert built == [dt.date.today()]


def test_the_purge_erases_the_district_on_the_referrals_contact_too(app, session, people):
    """The contact a referral came from took the referral's postcode district: erasing
    the referral's district must not leave it on the contact, joined to the referral."""
    old = dt.date.today() - dt.timedelta(days=800)
    referral = refer(session, people, 800, status="closed", closed_on=old, postcode_district="G31")
    other = make_contact(
        session, recorder=people["custody"], contact_on=old, postcode_district="G40"
    )
    make_contact(
        session,
        recorder=people["custody"],
        contact_on=old,
        outcome="referral_made",
        postcode_district="G31",
        referral_id=referral.id,
    )
    session.commit()
    with app.app_context():
        run_scheduled_purge(db.session)
        db.session.commit()
    session.expire_all()
    districts = session.execute(
        sa.select(CustodyContact.referral_id, CustodyContact.postcode_district).order_by(
            CustodyContact.id
        )
    ).all()
    # The contact with no referral keeps its district (it names no one and has no
    # referral to be erased with); the referral's contact loses it, keeping its council.
    assert districts == [(None, "G40"), (referral.id, None)]
    assert session.get(CustodyContact, other.id).council_area_id is not None


def test_feedback_reply_addresses_go_after_the_feedback_is_dealt_with(app_factory, session):
    app = app_factory(PROBLEM_CONTACT_RETENTION_DAYS=30)
    now = dt.datetime.now(dt.UTC)
    session.add_all(
        [
            Feedback(
                message="Map slow",
                reply_to="old@home.example",
                dealt_with_at=now - dt.timedelta(days=31),
            ),
            Feedback(
                message="Map slow",
                reply_to="recent@home.example",
                dealt_with_at=now - dt.timedelta(days=29),
            ),
            Feedback(message="Map slow", reply_to="open@home.example"),
        ]
    )
    session.commit()
    with app.app_context():
        summary = run_scheduled_purge(db.session)
        db.session.commit()
    session.expire_all()
    addresses = session.scalars(sa.select(Feedback.reply_to).order_by(Feedback.id)).all()
    assert addresses == [None, "recent@home.example", "open@home.example"]
    assert summary.feedback_addresses == 1


def test_a_referral_whose_personal_data_was_erased_cannot_be_reopened(
    app, client, session, people
):
    old = dt.date.today() - dt.timedelta(days=800)
    referral = refer(
        session, people, 800, status="closed", closed_on=old, close_reason="completed"
    )
    with app.app_context():
        run_scheduled_purge(db.session)
        db.session.commit()
    session.expire_all()
    referral = session.get(Referral, referral.id)
    sign_in(client, "a@t.example")
    assert "Reopen" not in client.get(f"/referrals/{referral.id}").get_data(as_text=True)
    response = client.post(
        f"/referrals/{referral.id}/reopen",
        data={
            "reopen-version": str(referral.version),
            "reopen-note": "Came back, phone 07700 900999",
        },
    )
    assert response.status_code == 400
    assert "erased" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Referral, referral.id).status == "closed"


def test_old_messages_are_deleted_once_no_longer_waiting(app_factory, session, people):
    """The outbox names referrals, why one closed and staff addresses: rows no longer
    waiting go OUTBOX_RETENTION_DAYS after they were made; waiting ones stay."""
    from referrals.notifications.kinds import Kind, Status
    from referrals.notifications.models import Notification

    app = app_factory(OUTBOX_RETENTION_DAYS=30)
    referral = refer(session, people, 60)
    now = dt.datetime.now(dt.UTC)

    def message(status, days_ago):
        return Notification(
            kind=Kind.CLOSED,
            status=status,
            referral=referral,
            user_id=people["custody"].id,
            payload='{"reason": "in_custody"}',
            created_at=now - dt.timedelta(days=days_ago),
        )

    old = [message(s, 31) for s in (Status.SENT, Status.CANCELLED, Status.FAILED)]
    kept = [message(Status.SENT, 29), message(Status.PENDING, 31)]
    session.add_all(old + kept)
    session.commit()
    kept_ids = sorted(n.id for n in kept)
    with app.app_context():
        summary = run_scheduled_purge(db.session)
        db.session.commit()
    assert summary.outbox_rows == 3
    assert sorted(session.scalars(sa.select(Notification.id))) == kept_ids
