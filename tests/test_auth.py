"""Signing in and out, the lock-out, the idle timeout, CSRF and create-user."""

import datetime as dt
import re
import time

import pyotp
import pytest
import sqlalchemy as sa

from referrals.auth.models import UserSession
from referrals.auth.signin import normalise_email
from referrals.choices import Role
from referrals.extensions import db
from referrals.models import AuditEvent, User

from .conftest import csrf_token
from .factories import PASSWORD, make_organisation, make_user


def sign_in(client, email, password=PASSWORD, next_url=None, **request_options):
    """Sign in as a person would: the password, then a code computed from the account's
    sign-in app secret (setting the app up first if the account must and has not).
    Returns the last response."""
    query = {"next": next_url} if next_url else None
    response = client.post(
        "/login",
        query_string=query,
        data={"email": email, "password": password},
        **request_options,
    )
    if response.status_code == 302 and response.location.startswith("/login/enrol"):
        page = client.get("/login/enrol", **request_options).get_data(as_text=True)
        key = re.search(r'class="setup-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
        return client.post("/login/enrol", data={"code": pyotp.TOTP(key).now()}, **request_options)
    if response.status_code == 302 and response.location.startswith("/login/verify"):
        response = client.post(
            "/login/verify", data={"code": next_code(client.application, email)}, **request_options
        )
    return response


def next_code(app, email: str) -> str:
    """A code from the account's sign-in app that the app has not accepted yet (a code
    works once): this 30-second step's, or the next one's."""
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
        secret, last = user.totp_secret, user.totp_last_step
        db.session.remove()
    clock = app.config.get("CLOCK")  # a test's own clock, which the app reads
    now = clock().timestamp() if clock else time.time()
    step = int(now) // 30
    if last is not None and last >= step:
        step = last + 1
        if step > int(now) // 30 + 1:  # two codes used this step already
            if clock:
                clock.advance(seconds=30)
            else:
                time.sleep(30 - time.time() % 30 + 0.1)
    return pyotp.TOTP(secret).at(step * 30)


def audit_actions(session):
    return [a for (a,) in session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id))]


def test_sign_in_and_out(client, session):
    user = make_user(session, Role.ADMIN, email="admin@test.example")
    session.commit()
    response = sign_in(client, "  Admin@Test.Example ")
    assert response.status_code == 302 and response.location == "/"
    html = client.get("/").get_data(as_text=True)
    assert user.name in html and "Sign out" in html
    response = client.post("/logout")
    assert response.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert user.name not in html and "Sign in" in html
    assert audit_actions(session) == ["sign_in_password_ok", "sign_in", "sign_out"]


def test_passwords_are_hashed_with_scrypt(session):
    user = make_user(session, Role.ADMIN)
    user.set_password(PASSWORD)
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password(PASSWORD) and not user.check_password(PASSWORD + "x")


def test_wrong_password_is_refused_with_a_clear_message(client, session):
    make_user(session, Role.ADMIN, email="a@test.example")
    session.commit()
    response = sign_in(client, "a@test.example", "wrong password")
    assert response.status_code == 401
    html = response.get_data(as_text=True)
    assert "The email address or password is not right" in html
    assert "Sign out" not in html
    assert audit_actions(session) == ["sign_in_failed"]


def test_unknown_email_is_audited_without_keeping_what_was_typed(client, session):
    """People type passwords and private addresses into the email box: an email that
    matches no account is not written to the log."""
    response = sign_in(client, "nobody@test.example", "whatever password")
    assert response.status_code == 401
    assert "The email address or password is not right" in response.get_data(as_text=True)
    row = session.scalar(sa.select(AuditEvent))
    assert row.action == "sign_in_failed" and row.actor is None
    assert row.user_id is None and row.ip == "127.0.0.1"
    assert "nobody" not in (row.detail or "")


def test_empty_form_says_what_to_enter(client):
    html = client.post("/login", data={}).get_data(as_text=True)
    assert "Enter your email address." in html and "Enter your password." in html


def test_deactivated_user_cannot_sign_in_and_is_signed_out(client, session):
    user = make_user(session, Role.ADMIN, email="d@test.example")
    session.commit()
    assert sign_in(client, "d@test.example").status_code == 302
    user.active = False
    user.session_version += 1
    session.commit()
    html = client.get("/").get_data(as_text=True)
    assert "Sign out" not in html
    # The right password of a deactivated account is not confirmed to anyone.
    response = sign_in(client, "d@test.example")
    assert response.status_code == 401
    assert "The email address or password is not right" in response.get_data(as_text=True)


def test_idle_session_times_out(app, client, session):
    make_user(session, Role.ADMIN, email="i@test.example")
    session.commit()
    sign_in(client, "i@test.example")
    session.execute(
        sa.update(UserSession).values(
            last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
        )
    )
    session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    html = client.get(response.location).get_data(as_text=True)
    assert "signed out after 30 minutes without activity" in html
    assert "sign_out_idle" in audit_actions(session)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_next_parameter_cannot_send_users_elsewhere(client, session, target):
    make_user(session, Role.ADMIN, email="n@test.example")
    session.commit()
    response = sign_in(client, "n@test.example", next_url=target)
    assert response.status_code == 302 and response.location == "/"


def test_next_parameter_returns_to_the_page_asked_for(client, session):
    make_user(session, Role.ADMIN, email="m@test.example")
    session.commit()
    response = sign_in(client, "m@test.example", next_url="/healthz")
    assert response.location == "/healthz"


def test_forms_refuse_posts_without_csrf_token(app_factory, session):
    make_user(session, Role.ADMIN, email="t@test.example")
    session.commit()
    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    response = client.post("/login", data={"email": "t@test.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "nothing was saved" in response.get_data(as_text=True)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": "t@test.example", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    # Signing out needs the token too.
    assert client.post("/logout").status_code == 400


def test_create_user_command(runner, session):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "New.Officer@Police.Example",
            "--role",
            "custody",
            "--custody-suite",
            "gla-lr",
            "--name",
            "New Officer",
            "--password",
            "a sufficiently long one",
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(sa.select(User).where(User.email == "new.officer@police.example"))
    assert user.custody_suite.code == "GLA-LR" and user.check_password("a sufficiently long one")
    assert audit_actions(session) == ["user_created"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "custody"], "custody suite"),
        (["--role", "provider", "--organisation", "Nobody Ltd"], "known organisation"),
        (["--role", "lead", "--area", "S12009999"], "GSS code"),
        (["--role", "admin", "--password", "short"], "at least 12 characters"),
    ],
)
def test_create_user_refuses_incomplete_accounts(runner, session, args, message):
    base = ["create-user", "--email", "x@police.example"]
    if "--password" not in args:
        args = [*args, "--password", "a sufficiently long one"]
    result = runner.invoke(args=base + args)
    assert result.exit_code != 0
    assert message in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_create_user_reads_an_area_code_in_any_case(runner, session):
    result = runner.invoke(
        args=[
            "create-user",
            *("--email", "lead@police.example", "--role", "lead", "--area", "s12000049"),
            *("--password", "a sufficiently long one"),
        ]
    )
    assert result.exit_code == 0, result.output
    user = session.scalar(sa.select(User).where(User.email == "lead@police.example"))
    assert [a.code for a in user.areas] == ["S12000049"]


def test_create_user_refuses_an_organisation_name_that_several_share(runner, session):
    """Names are not unique: an account attached to the wrong organisation would see its
    referrals. The command lists them and asks for the id."""
    first = make_organisation(session, "Recovery Trust")
    second = make_organisation(session, "Recovery Trust")
    session.commit()
    base = ["create-user", "--email", "w@t.example", "--role", "provider"]
    base += ["--password", "a sufficiently long one"]
    result = runner.invoke(args=[*base, "--organisation", "Recovery Trust"])
    assert result.exit_code != 0
    assert f"id {first.id}: Recovery Trust" in result.output
    assert f"id {second.id}: Recovery Trust" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    chosen = runner.invoke(args=[*base, "--organisation", str(second.id)])
    assert chosen.exit_code == 0, chosen.output
    user = session.scalar(sa.select(User).where(User.email == "w@t.example"))
    assert user.organisation_id == second.id
