"""Administrators manage accounts: create, scope, reset passwords, deactivate, unlock."""

import datetime as dt

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, User

from .factories import make_organisation, make_user, suite
from .test_auth import sign_in

GOOD_PASSWORD = "several unrelated words"


@pytest.fixture
def admin_client(client, session):
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    sign_in(client, "admin@t.example")
    return client


def audit(session):
    return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_create_a_custody_account(admin_client, session):
    gla = suite(session, "GLA-LR")
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": "New.Officer@Police.Example",
            "name": "New Officer",
            "role": "custody",
            "custody_suite_id": str(gla.id),
            "active": "y",
            "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302
    user = session.scalar(sa.select(User).where(User.email == "new.officer@police.example"))
    assert user.custody_suite_id == gla.id and user.check_password(GOOD_PASSWORD)
    assert audit(session)[-1] == "user_created"
    assert "New Officer" in admin_client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"role": "custody"}, "Custody staff need a custody suite."),
        ({"role": "provider"}, "Providers need an organisation."),
        ({"role": "lead"}, "Area leads need at least one council area."),
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters."),
        ({"confirm": "something else entirely"}, "The two passwords do not match."),
        ({"email": "admin@t.example"}, "There is already an account with this email address."),
        ({"email": "not-an-email"}, "Enter an email address like name@example.org."),
    ],
)
def test_incomplete_accounts_are_refused(admin_client, session, changes, message):
    data = {
        "email": "x@t.example",
        "name": "X",
        "role": "admin",
        "password": GOOD_PASSWORD,
        "confirm": GOOD_PASSWORD,
        **changes,
    }
    response = admin_client.post("/admin/users/new", data=data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_change_role_and_scope_ends_the_users_sessions(admin_client, app, session):
    org = make_organisation(session, "Org")
    user = make_user(
        session, Role.CUSTODY, email="u@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    theirs = app.test_client()
    sign_in(theirs, "u@t.example")
    assert "Sign out" in theirs.get("/").get_data(as_text=True)
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "email": "u@t.example",
            "name": "U",
            "role": "provider",
            "organisation_id": str(org.id),
            "active": "y",
        },
    )
    assert response.status_code == 302
    session.expire_all()
    changed = session.get(User, user.id)
    assert changed.role == Role.PROVIDER and changed.custody_suite_id is None
    assert changed.organisation_id == org.id
    assert "Sign out" not in theirs.get("/").get_data(as_text=True)
    row = session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert row.action == "user_updated" and '"role": ["custody", "provider"]' in row.detail


def test_deactivate_and_reset_password(admin_client, app, session):
    user = make_user(session, Role.ADMIN, email="other@t.example")
    user.locked_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    session.commit()
    response = admin_client.post(
        f"/admin/users/{user.id}/password", data={"pw-password": "short", "pw-confirm": "short"}
    )
    assert response.status_code == 400 and "Use at least 12 characters" in response.get_data(
        as_text=True
    )
    response = admin_client.post(
        f"/admin/users/{user.id}/password",
        data={"pw-password": GOOD_PASSWORD, "pw-confirm": GOOD_PASSWORD},
    )
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(User, user.id)
    assert saved.check_password(GOOD_PASSWORD) and saved.locked_until is None
    admin_client.post(
        f"/admin/users/{user.id}",
        data={"email": "other@t.example", "name": "Other", "role": "admin"},
    )  # active unticked
    session.expire_all()
    assert not session.get(User, user.id).active
    assert audit(session)[-2:] == ["user_password_reset", "user_deactivated"]
    fresh = app.test_client()
    assert "deactivated" in sign_in(fresh, "other@t.example", GOOD_PASSWORD).get_data(as_text=True)


def test_admin_cannot_lock_themselves_out(admin_client, session):
    me = session.scalar(sa.select(User).where(User.email == "admin@t.example"))
    response = admin_client.post(
        f"/admin/users/{me.id}", data={"email": "admin@t.example", "name": "Me", "role": "admin"}
    )
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)


def test_unlock(admin_client, session):
    user = make_user(session, Role.ADMIN, email="locked@t.example")
    user.locked_until = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    session.commit()
    assert "Locked" in admin_client.get("/admin/users?status=locked").get_data(as_text=True)
    admin_client.post(f"/admin/users/{user.id}/unlock")
    session.expire_all()
    assert session.get(User, user.id).locked_until is None
    assert audit(session)[-1] == "user_unlocked"
