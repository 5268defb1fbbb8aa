"""Administrators manage accounts: create, scope, reset passwords, deactivate, unlock."""

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, User

from .conftest import form_as_shown
from .factories import PASSWORD, make_organisation, make_user, suite
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


def test_every_problem_with_a_new_account_is_shown_at_once(admin_client, session):
    """A box wrong on its own (no name) used to hide the other problems until it was put
    right, one resubmission at a time."""
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": "admin@t.example",
            "name": "",
            "role": "custody",
            "password": "short",
            "confirm": "short",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for message in (
        "Enter the person&#39;s name.",
        "Custody staff need a custody suite.",
        "There is already an account with this email address.",
        "Use at least 12 characters.",
    ):
        assert message in page
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_every_problem_with_a_changed_account_is_shown_at_once(admin_client, session):
    other = make_user(session, Role.LEAD, email="lead@t.example")
    session.commit()
    response = admin_client.post(
        f"/admin/users/{other.id}",
        data={"email": "admin@t.example", "name": "", "role": "provider"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for message in (
        "Enter the person&#39;s name.",
        "Providers need an organisation.",
        "There is already an account with this email address.",
    ):
        assert message in page
    session.refresh(other)
    assert other.email == "lead@t.example" and other.role == Role.LEAD


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
    session.commit()
    theirs = app.test_client()
    sign_in(theirs, "other@t.example")
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
    assert saved.check_password(GOOD_PASSWORD)
    # A new password signs them out everywhere, copied cookies included.
    assert "Sign out" not in theirs.get("/").get_data(as_text=True)
    admin_client.post(
        f"/admin/users/{user.id}",
        data={"email": "other@t.example", "name": "Other", "role": "admin"},
    )  # active unticked
    session.expire_all()
    assert not session.get(User, user.id).active
    assert audit(session)[-2:] == ["user_password_reset", "user_deactivated"]
    fresh = app.test_client()
    refused = sign_in(fresh, "other@t.example", GOOD_PASSWORD)
    assert refused.status_code == 401  # told as if the password were wrong
    assert "deactivated" not in refused.get_data(as_text=True)


def test_an_administrator_changing_their_own_scheme_stays_signed_in_here_only(
    app, admin_client, session
):
    """Their other sessions end, as for anyone whose access changes; this one carries on
    (it used to sign them out in the middle of saving)."""
    from referrals.schemes.models import Scheme

    me = session.scalar(sa.select(User).where(User.email == "admin@t.example"))
    scheme = Scheme(code="TST", name="Test scheme", organisation=make_organisation(session))
    session.add(scheme)
    session.commit()
    elsewhere = app.test_client()
    sign_in(elsewhere, "admin@t.example")
    response = admin_client.post(
        f"/admin/users/{me.id}",
        data={
            "email": "admin@t.example",
            "name": "Me",
            "role": "admin",
            "active": "y",
            "scheme_id": str(scheme.id),
        },
    )
    assert response.status_code == 302
    page = admin_client.get(response.location)
    assert page.status_code == 200 and "Saved admin@t.example." in page.get_data(as_text=True)
    assert admin_client.get("/admin/users").status_code == 200
    assert elsewhere.get("/admin/users").status_code == 302  # signed out there
    session.expire_all()
    assert session.get(User, me.id).scheme_id == scheme.id


def test_admin_cannot_lock_themselves_out(admin_client, session):
    me = session.scalar(sa.select(User).where(User.email == "admin@t.example"))
    response = admin_client.post(
        f"/admin/users/{me.id}", data={"email": "admin@t.example", "name": "Me", "role": "admin"}
    )
    assert response.status_code == 400
    assert "You cannot deactivate your own account" in response.get_data(as_text=True)


def test_an_administrators_own_password_and_sign_in_app_are_changed_where_it_is_asked_for(
    admin_client, session
):
    """Someone at an administrator's session left open cannot take the account over from
    the users' pages: its own password and sign-in app are changed on the sign-in
    settings page, which asks for the current password first."""
    me = session.scalar(sa.select(User).where(User.email == "admin@t.example"))
    page = admin_client.get(f"/admin/users/{me.id}").get_data(as_text=True)
    assert f"/admin/users/{me.id}/password" not in page and "your sign-in settings" in page
    new = {
        "pw-password": "a brand new long passphrase",
        "pw-confirm": "a brand new long passphrase",
    }
    for path, data in (("password", new), ("sign-in-app", {})):
        answer = admin_client.post(f"/admin/users/{me.id}/{path}", data=data)
        assert answer.status_code == 302 and answer.location == "/settings/sign-in"
    shown = admin_client.get("/settings/sign-in").get_data(as_text=True)
    assert "Change your own password and sign-in app on your sign-in settings page" in shown
    session.expire_all()
    me = session.get(User, me.id)
    assert me.check_password(PASSWORD) and me.totp_enrolled_at is not None
    assert "user_password_reset" not in audit(session)


def test_clearing_failed_sign_ins_lets_a_paused_account_in(admin_client, app, session):
    user = make_user(
        session, Role.CUSTODY, email="locked@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    attacker = app.test_client()
    for n in range(20):  # a spread-out attack: one wrong guess from each of 20 addresses
        sign_in(
            attacker, "locked@t.example", "wrong", environ_base={"REMOTE_ADDR": f"203.0.113.{n}"}
        )
    page = admin_client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "is paused until" in page
    assert sign_in(app.test_client(), "locked@t.example").status_code == 429
    admin_client.post(f"/admin/users/{user.id}/unlock")
    assert "is paused until" not in admin_client.get(f"/admin/users/{user.id}").get_data(
        as_text=True
    )
    assert audit(session)[-1] == "user_unlocked"
    assert sign_in(app.test_client(), "locked@t.example").status_code == 302


def test_clearing_failed_sign_ins_lets_the_person_in_from_where_they_failed(
    admin_client, app, session
):
    """The officer mistypes their password five times at the custody PC and is paused
    there; the administrator clears it, and the officer signs in from that PC at once."""
    user = make_user(
        session, Role.CUSTODY, email="locked@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    custody_pc = app.test_client()
    at_pc = {"REMOTE_ADDR": "10.20.30.40"}
    for _ in range(6):
        answer = sign_in(custody_pc, "locked@t.example", "wrong guess", environ_base=at_pc)
    assert answer.status_code == 429
    assert sign_in(custody_pc, "locked@t.example", environ_base=at_pc).status_code == 429
    admin_client.post(f"/admin/users/{user.id}/unlock")
    assert sign_in(custody_pc, "locked@t.example", environ_base=at_pc).status_code == 302


def test_saving_an_account_unchanged_records_nothing(admin_client, session):
    gla = suite(session, "GLA-LR")
    user = make_user(session, Role.CUSTODY, email="same@t.example", custody_suite=gla)
    session.commit()
    before = audit(session)
    response = admin_client.post(
        f"/admin/users/{user.id}",
        data={
            "email": "same@t.example",
            "name": user.name,
            "role": "custody",
            "custody_suite_id": str(gla.id),
            "active": "y",
        },
        follow_redirects=True,
    )
    assert "Nothing changed for same@t.example." in response.get_data(as_text=True)
    assert audit(session) == before


def test_two_administrators_creating_the_same_account_at_once_get_a_message(
    admin_client, session, monkeypatch
):
    """Both pass the check for the email before either saves: the second is told, as
    if it had been there already, not shown an error page."""
    from referrals.admin import users

    make_user(session, Role.ADMIN, email="twice@t.example")
    session.commit()
    monkeypatch.setattr(users, "_email_taken", lambda *args, **kwargs: False)
    response = admin_client.post(
        "/admin/users/new",
        data={
            "email": "twice@t.example",
            "name": "Twice",
            "role": "admin",
            "active": "y",
            "password": GOOD_PASSWORD,
            "confirm": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "There is already an account with this email address." in response.get_data(
        as_text=True
    )


def test_a_form_opened_before_another_administrators_change_does_not_undo_it(
    admin_client, app, session
):
    """Administrator A opens a provider's account; B deactivates it; A then corrects the
    name from the page opened earlier. A's save is refused and the form shows the
    account as it now is: the account stays deactivated."""
    target = make_user(
        session, Role.PROVIDER, email="leaver@t.example", organisation=make_organisation(session)
    )
    session.commit()
    url = f"/admin/users/{target.id}"
    opened_by_a = form_as_shown(admin_client.get(url).text, url)
    other = app.test_client()
    sign_in(other, "admin@t.example")
    by_b = form_as_shown(other.get(url).text, url)
    by_b.pop("active")
    assert other.post(url, data=by_b).status_code == 302
    session.expire_all()
    assert session.get(User, target.id).active is False

    answer = admin_client.post(url, data=opened_by_a | {"name": ["Leaver Person"]})
    assert answer.status_code == 409
    assert "Someone else changed this while you had it open" in answer.text
    assert 'name="active"' in answer.text and 'name="active" checked' not in answer.text
    session.expire_all()
    saved = session.get(User, target.id)
    assert saved.active is False and saved.name != "Leaver Person"
    # Made again from the page as it now is, the change is saved.
    again = form_as_shown(answer.text, url) | {"name": ["Leaver Person"]}
    assert admin_client.post(url, data=again).status_code == 302
    session.expire_all()
    assert session.get(User, target.id).name == "Leaver Person"
    assert session.get(User, target.id).active is False
