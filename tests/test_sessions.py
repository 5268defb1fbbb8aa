"""Sessions are held on the server: a copied cookie stops working everywhere at sign-out,
password change, deactivation, after the idle time and 12 hours after signing in."""

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.auth.models import UserSession
from referrals.choices import Role
from referrals.models import AuditEvent

from .factories import council, make_user
from .test_auth import sign_in

GOOD = "several unrelated words"


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


@pytest.fixture
def admin(session):
    user = make_user(session, Role.ADMIN, email="s@t.example")
    session.commit()
    return user


def test_a_copied_cookie_stops_working_after_sign_out(app, client, admin):
    sign_in(client, "s@t.example")
    thief = copy_of(app, client)
    assert signed_in(thief)  # the copy works while the session lives
    client.post("/logout")
    assert not signed_in(thief)
    assert thief.get("/admin/users").status_code == 302


def test_a_session_ends_twelve_hours_after_signing_in_however_busy(app, client, session, admin):
    sign_in(client, "s@t.example")
    # Used every few minutes all day (last seen just now), signed in 12 hours ago.
    session.execute(
        sa.update(UserSession).values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=12),
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            last_seen_at=dt.datetime.now(dt.UTC),
        )
    )
    session.commit()
    response = client.get("/admin/users")
    assert response.status_code == 302 and response.location.startswith("/login")
    page = client.get(response.location).get_data(as_text=True)
    assert "signed out 12 hours after signing in" in page
    assert "sign_out_expired" in session.scalars(sa.select(AuditEvent.action)).all()


def test_the_session_lifetime_is_a_setting(app_factory, session, admin):
    app = app_factory(SESSION_LIFETIME_HOURS=1)
    client = app.test_client()
    sign_in(client, "s@t.example")
    row = session.scalar(sa.select(UserSession))
    assert dt.timedelta(minutes=59) < row.expires_at - row.created_at <= dt.timedelta(hours=1)


def test_changing_your_password_signs_you_out_everywhere_else(app, client, session):
    # An area lead signs in with a password alone: three sign-ins need no three codes.
    make_user(session, Role.LEAD, email="s@t.example", areas=[council(session, "Fife")])
    session.commit()
    sign_in(client, "s@t.example")
    other_device = app.test_client()
    sign_in(other_device, "s@t.example")
    response = client.post(
        "/settings/sign-in/password",
        data={
            "pw-password": "correct horse battery staple",
            "pw-new_password": GOOD,
            "pw-confirm": GOOD,
        },
    )
    assert response.status_code == 302
    assert signed_in(client)  # this one carries on
    assert not signed_in(other_device)
    fresh = app.test_client()
    assert sign_in(fresh, "s@t.example", GOOD).status_code == 302


def test_changing_your_password_needs_the_current_one(client, admin):
    sign_in(client, "s@t.example")
    response = client.post(
        "/settings/sign-in/password",
        data={"pw-password": "wrong", "pw-new_password": GOOD, "pw-confirm": GOOD},
    )
    assert response.status_code == 400
    assert "That is not your current password." in response.get_data(as_text=True)


def test_deactivation_ends_every_session_of_the_account(app, client, session, admin):
    glasgow = council(session, "Glasgow City")
    other = make_user(session, Role.LEAD, email="lead@t.example", areas=[glasgow])
    session.commit()
    theirs = app.test_client()
    sign_in(theirs, "lead@t.example")
    copy = copy_of(app, theirs)
    sign_in(client, "s@t.example")
    client.post(
        f"/admin/users/{other.id}",
        data={"email": "lead@t.example", "name": "L", "role": "lead", "area_ids": glasgow.id},
    )  # "active" unticked
    assert not signed_in(theirs) and not signed_in(copy)
    ended = session.scalars(
        sa.select(UserSession.end_reason).where(UserSession.user_id == other.id)
    )
    assert set(ended) == {"deactivated"}


def test_you_can_see_your_sessions_and_end_the_others(app, client, session, admin):
    sign_in(client, "s@t.example", environ_base={"HTTP_USER_AGENT": "Custody PC browser"})
    phone = app.test_client()
    sign_in(phone, "s@t.example", environ_base={"HTTP_USER_AGENT": "Phone browser"})
    page = client.get("/settings/sign-in").get_data(as_text=True)
    assert "Custody PC browser" in page and "Phone browser" in page and "(this one)" in page
    assert client.get("/settings/sign-in").headers["Cache-Control"] == "no-store"
    client.post("/settings/sign-in/sessions")
    assert signed_in(client) and not signed_in(phone)


def test_an_idle_session_cannot_be_revived_with_a_copied_cookie(app, client, session, admin):
    sign_in(client, "s@t.example")
    thief = copy_of(app, client)
    session.execute(
        sa.update(UserSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
        )
    )
    session.commit()
    assert not signed_in(client)
    assert not signed_in(thief)
    assert session.scalar(sa.select(UserSession.end_reason)) == "idle"


def test_each_request_checks_the_user_and_their_session_in_one_statement(
    app, client, session, admin
):
    from referrals.extensions import db
    from referrals.statement_count import counting

    sign_in(client, "s@t.example")
    with app.app_context():
        engine = db.engine
    with counting(engine) as seen:
        assert client.get("/admin/users").status_code == 200
    sign_in_check = [" ".join(sql.split()) for sql, _ in seen.sent if "user_sessions" in sql]
    assert len(sign_in_check) == 1, str(seen)  # read together; nothing written just now
    assert "FROM users LEFT OUTER JOIN user_sessions" in sign_in_check[0]
    # A minute on, the session is marked seen (kept, in a transaction of its own).
    session.execute(
        sa.update(UserSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=90)
        )
    )
    session.commit()
    with counting(engine) as seen:
        assert client.get("/admin/users").status_code == 200
    touched = [sql.split()[0] for sql, _ in seen.sent if "user_sessions" in sql]
    assert touched == ["SELECT", "UPDATE"], str(seen)
    session.expire_all()
    last_seen = session.scalar(sa.select(UserSession.last_seen_at))
    assert dt.datetime.now(dt.UTC) - last_seen.replace(tzinfo=dt.UTC) < dt.timedelta(seconds=30)
