"""Working days skip bank holidays (Scotland's by default), and the digests the sender
queues on its timetable: the overdue list to provider managers, stale listings to the
organisation, and the weekly reminder to area leads (no figures)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.config import ConfigError, settings_from_env
from referrals.extensions import db
from referrals.notifications.kinds import Kind, Status
from referrals.notifications.models import Notification
from referrals.notifications.schedule import queue_digests
from referrals.workdays import is_working_day, overdue_cutoff, respond_by

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in
from .test_notifications import Clock, deliver, rows

D = dt.date


@pytest.mark.parametrize(
    ("made", "region", "due"),
    [
        # St Andrew's Day (Monday 30 Nov 2026) is a bank holiday in Scotland only.
        (D(2026, 11, 27), "SCT", D(2026, 12, 7)),
        (D(2026, 11, 27), "ENG", D(2026, 12, 4)),
        # Christmas, Boxing Day (observed on the 28th), New Year and its Scottish second
        # day (2 Jan 2027 is a Saturday, so Monday 4 Jan is off).
        (D(2026, 12, 23), "SCT", D(2027, 1, 5)),
        (D(2026, 12, 23), "ENG", D(2027, 1, 4)),
        # An ordinary week.
        (D(2026, 10, 5), "SCT", D(2026, 10, 12)),
    ],
)
def test_respond_by_skips_weekends_and_the_regions_bank_holidays(made, region, due):
    assert respond_by(made, 5, region) == due


def test_bank_holidays_are_not_working_days():
    assert not is_working_day(D(2026, 11, 30), "SCT")
    assert is_working_day(D(2026, 11, 30), "ENG")
    assert not is_working_day(D(2027, 1, 2), "SCT")  # a Saturday anyway
    assert not is_working_day(D(2026, 8, 3), "SCT")  # Scotland's summer bank holiday
    assert is_working_day(D(2026, 8, 31), "SCT")  # England's, not Scotland's


def test_the_bank_holiday_region_is_a_setting_defaulting_to_the_data_packs(tmp_path):
    assert settings_from_env(str(tmp_path), {})["BANK_HOLIDAY_REGION"] == ""
    assert (
        settings_from_env(str(tmp_path), {"BANK_HOLIDAY_REGION": "eng"})["BANK_HOLIDAY_REGION"]
        == "ENG"
    )
    with pytest.raises(ConfigError, match="BANK_HOLIDAY_REGION must be one of SCT, ENG"):
        settings_from_env(str(tmp_path), {"BANK_HOLIDAY_REGION": "Wales"})


def test_overdue_cutoff_matches_respond_by():
    today = D(2026, 12, 8)
    cutoff = overdue_cutoff(today, 5, "SCT")
    assert respond_by(cutoff - dt.timedelta(days=1), 5, "SCT") < today
    assert respond_by(cutoff, 5, "SCT") >= today


@pytest.fixture
def org_people(session):
    org = make_organisation(session, "Harbour Recovery")
    other = make_organisation(session, "Quiet Org")
    service = make_service(session, organisation=org, name="Harbour MAT")
    data = {
        "org": org,
        "service": service,
        "quiet_service": make_service(session, organisation=other, name="Quiet MAT"),
        "custody": make_user(
            session,
            Role.CUSTODY,
            email="officer@police.example",
            custody_suite=suite(session, "GLA-LR"),
        ),
        "manager": make_user(
            session,
            Role.PROVIDER,
            email="manager@harbour.example.org",
            organisation=org,
            manager=True,
        ),
        "worker": make_user(
            session, Role.PROVIDER, email="worker@harbour.example.org", organisation=org
        ),
        "lead": make_user(session, Role.LEAD, email="lead@adp.example"),
    }
    session.commit()
    return data


def queue(app, local: dt.datetime) -> int:
    """Queue what is due at ``local`` time, and set the app's clock there (the sender's
    pass queues what is due at its own time too)."""
    app.config["CLOCK"] = Clock(local.astimezone(dt.UTC))
    with app.app_context():
        try:
            return queue_digests(db.session, local)
        finally:
            db.session.remove()


def london(*args) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo("Europe/London"))


def test_the_overdue_digest_goes_to_the_managers_once_a_working_day(app, session, org_people):
    made = make_referral(
        session,
        service=org_people["service"],
        referrer=org_people["custody"],
        referred_on=D(2026, 11, 20),
    )
    make_referral(
        session,
        service=org_people["service"],
        referrer=org_people["custody"],
        referred_on=D(2026, 12, 7),
    )  # not overdue
    session.commit()
    assert queue(app, london(2026, 12, 8, 7, 59)) == 0  # before 08:00
    written = queue(app, london(2026, 12, 8, 8, 0))
    queue(app, london(2026, 12, 8, 15, 0))  # again the same day: nothing new
    app.extensions.pop("notification_digests")  # as a second sender process would see it
    queue(app, london(2026, 12, 8, 15, 0))
    digests = rows(session, kind=Kind.OVERDUE_DIGEST)
    assert written >= 1 and [r.user_id for r in digests] == [org_people["manager"].id]
    deliver(app)
    assert rows(session, kind=Kind.OVERDUE_DIGEST)[0].status == Status.SENT
    # Not on St Andrew's Day, a bank holiday in Scotland.
    queue(app, london(2026, 11, 30, 9, 0))
    keys = [r.dedupe_key for r in rows(session, kind=Kind.OVERDUE_DIGEST)]
    assert keys == [f"overdue_digest:2026-12-08:{org_people['org'].id}:{org_people['manager'].id}"]
    assert made.reference  # listed in the payload
    assert made.reference in rows(session, kind=Kind.OVERDUE_DIGEST)[0].payload


def test_the_overdue_digest_lists_references_and_links_to_the_worklist(
    app, session, org_people, monkeypatch
):
    from referrals.notifications import backends

    captured = []
    monkeypatch.setattr(
        backends.LogBackend, "send", lambda self, message: captured.append(message) or "log"
    )
    made = make_referral(
        session,
        service=org_people["service"],
        referrer=org_people["custody"],
        referred_on=D(2026, 11, 20),
    )
    session.commit()
    app.config["BASE_URL"] = "https://referrals.example.org"
    queue(app, london(2026, 12, 8, 9, 0))
    deliver(app)
    digest = next(m for m in captured if m.kind == "overdue_digest")
    assert digest.to == "manager@harbour.example.org"
    assert digest.subject == "1 overdue referral to Harbour Recovery"
    assert f"- {made.reference} to Harbour MAT" in digest.body
    assert "https://referrals.example.org/worklist#overdue" in digest.body
    assert "Alex Example" not in digest.body and "CR/" not in digest.body


def test_stale_listings_and_the_weekly_summary_go_out_once_a_week(
    app, session, org_people, monkeypatch
):
    from referrals.notifications import backends

    captured = []
    monkeypatch.setattr(
        backends.LogBackend, "send", lambda self, message: captured.append(message) or "log"
    )
    org_people["service"].last_verified_on = D(2026, 5, 1)
    session.commit()
    monday = london(2026, 12, 7, 9, 0)
    queue(app, monday)
    queue(app, london(2026, 12, 9, 9, 0))  # later the same week: nothing again
    deliver(app)
    stale = [m for m in captured if m.kind == "stale_listings"]
    assert sorted(m.to for m in stale) == [
        "manager@harbour.example.org",
        "worker@harbour.example.org",
    ]
    assert stale[0].subject == "1 listing of Harbour Recovery to check"
    assert "- Harbour MAT" in stale[0].body and "Quiet MAT" not in stale[0].body
    [weekly] = [m for m in captured if m.kind == "weekly_summary"]
    assert weekly.to == "lead@adp.example"
    assert weekly.subject == "Referral reports: the week 30 Nov 2026 to 6 Dec 2026"
    assert "/reports/" in weekly.body
    # The reminder carries no figures: the only numbers are the period's dates.
    assert "%" not in weekly.body
    assert not [
        w
        for w in weekly.body.replace("30 Nov 2026", "").replace("6 Dec 2026", "").split()
        if w.isdigit()
    ]
    queue(app, london(2026, 12, 14, 9, 0))  # the next week
    assert len(rows(session, kind=Kind.WEEKLY_SUMMARY)) == 2


def test_a_deactivated_recipient_gets_nothing(app, session, org_people):
    org_people["lead"].active = False
    session.commit()
    session.add(
        Notification(
            kind=Kind.WEEKLY_SUMMARY, user_id=org_people["lead"].id, payload='{"period": "x"}'
        )
    )
    session.commit()
    deliver(app)
    [row] = rows(session)
    assert row.status == Status.CANCELLED and row.last_error == "The account is deactivated."


def test_overdue_on_the_worklist_counts_the_bank_holiday(app, client, session, org_people):
    # Made Friday 27 Nov 2026: due Monday 7 Dec in Scotland, so not overdue on Friday 4 Dec.
    made = make_referral(
        session,
        service=org_people["service"],
        referrer=org_people["custody"],
        referred_on=D(2026, 11, 27),
    )
    session.commit()
    app.config["CLOCK"] = Clock(dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC))
    sign_in(client, "manager@harbour.example.org")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Overdue: no response within 5 working days (0)" in page
    assert "respond by 7 Dec 2026" in page
    app.config["CLOCK"] = Clock(dt.datetime(2026, 12, 8, 12, 0, tzinfo=dt.UTC))
    # Four days on, that session has ended: the next page signs the browser out.
    assert client.get("/worklist").location.startswith("/login")
    sign_in(client, "manager@harbour.example.org")
    page = client.get("/worklist").get_data(as_text=True)
    assert "Overdue: no response within 5 working days (1)" in page
    assert made.reference in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0


def test_a_long_running_sender_remembers_only_todays_digests(app, session, org_people):
    """The sender runs for months: what it marks as looked at each day does not pile up."""
    for day in (7, 8, 9, 10):
        queue(app, london(2026, 12, day, 9, 0))
    done = app.extensions["notification_digests"]
    assert done and {day for _, day in done} == {D(2026, 12, 10)}
