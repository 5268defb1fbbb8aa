"""Multi-factor sign-in: who needs it, setting it up from a QR code, codes that work
once, recovery codes, and an administrator's reset for a lost phone."""

import datetime as dt
import json
import re

import pyotp
import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AppSetting, AuditEvent, User
from referrals.nation import DEMO_SETTING

from .factories import PASSWORD, council, make_organisation, make_user, suite
from .test_auth import next_code, sign_in


def password_step(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def setup_key(html: str) -> str:
    return re.search(r'class="setup-key">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


def accounts(session, enrolled: bool):
    return {
        "custody": make_user(
            session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"), mfa=enrolled
        ),
        "provider": make_user(
            session, Role.PROVIDER, organisation=make_organisation(session), mfa=enrolled
        ),
        "admin": make_user(session, Role.ADMIN, mfa=enrolled),
        "lead": make_user(session, Role.LEAD, areas=[council(session, "Fife")], mfa=enrolled),
    }


@pytest.mark.parametrize("role", ["custody", "provider", "admin"])
def test_roles_that_see_person_level_data_must_set_up_the_app(client, session, role):
    user = accounts(session, enrolled=False)[role]
    session.commit()
    response = password_step(client, user.email)
    assert response.location == "/login/enrol"
    # Nothing is reachable before the second step is done.
    assert "Sign out" not in client.get("/").get_data(as_text=True)
    assert client.get("/referrals").status_code == 302
    page = client.get("/login/enrol").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and 'alt="QR code' in page  # made here
    wrong = client.post("/login/enrol", data={"code": "12345"})
    assert wrong.status_code == 401 and "That code is not right" in wrong.get_data(as_text=True)
    key = setup_key(page)
    done = client.post("/login/enrol", data={"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", done.get_data(as_text=True)
    )
    assert len(codes) == 10
    assert done.headers["Cache-Control"] == "no-store"
    assert "Sign out" in client.get("/").get_data(as_text=True)
    session.expire_all()
    saved = session.get(User, user.id)
    assert saved.totp_enrolled_at is not None and saved.totp_secret == key
    actions = session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "mfa_enrolled" in actions and actions[-1] == "sign_in"


def test_an_area_lead_may_sign_in_with_a_password_alone_or_add_the_app(client, session):
    lead = accounts(session, enrolled=False)["lead"]
    session.commit()
    response = password_step(client, lead.email)
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/settings/sign-in/app").get_data(as_text=True)
    key = setup_key(page)
    assert "Your current password" in page
    client.post(
        "/settings/sign-in/app", data={"code": pyotp.TOTP(key).now(), "password": PASSWORD}
    )
    client.post("/logout")
    assert password_step(client, lead.email).location == "/login/verify"


def test_setting_up_an_app_from_the_settings_asks_for_the_password(client, session):
    """Someone at a computer left signed in cannot add an app of their own (and lock the
    owner out); after giving the password to move to a new phone, it is not asked again."""
    lead = accounts(session, enrolled=False)["lead"]
    session.commit()
    password_step(client, lead.email)
    key = setup_key(client.get("/settings/sign-in/app").get_data(as_text=True))
    code = pyotp.TOTP(key).now()
    for password, message in (("", "Enter your current password."), ("guess", "not your current")):
        answer = client.post("/settings/sign-in/app", data={"code": code, "password": password})
        assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, lead.id).totp_enrolled_at is None
    answer = client.post("/settings/sign-in/app", data={"code": code, "password": PASSWORD})
    assert answer.status_code == 200 and "recovery" in answer.get_data(as_text=True).lower()
    # A new phone: the password is given on the settings page, and only there.
    moved = client.post("/settings/sign-in/app/new", data={"confirm-password": PASSWORD})
    assert moved.location == "/settings/sign-in/app"
    page = client.get("/settings/sign-in/app").get_data(as_text=True)
    assert "Your current password" not in page
    key = setup_key(page)
    done = client.post("/settings/sign-in/app", data={"code": pyotp.TOTP(key).now()})
    assert done.status_code == 200 and "recovery" in done.get_data(as_text=True).lower()


def test_a_code_works_once(client, session):
    admin = make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    code = pyotp.TOTP(admin.totp_secret).now()
    password_step(client, "a@t.example")
    assert client.post("/login/verify", data={"code": code}).status_code == 302
    client.post("/logout")
    password_step(client, "a@t.example")
    replayed = client.post("/login/verify", data={"code": code})
    assert replayed.status_code == 401


def test_codes_from_the_step_before_and_after_are_accepted_for_drifting_clocks(client, session):
    admin = make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    # The app's clock held still: a 30-second step ending between making the code and
    # sending it would otherwise make "the step before" two steps old.
    now = dt.datetime.now(dt.UTC)
    client.application.config["CLOCK"] = lambda: now
    late = pyotp.TOTP(admin.totp_secret).at(now - dt.timedelta(seconds=30))
    password_step(client, "a@t.example")
    assert client.post("/login/verify", data={"code": late}).status_code == 302
    client.post("/logout")
    stale = pyotp.TOTP(admin.totp_secret).at(now - dt.timedelta(minutes=5))
    password_step(client, "a@t.example")
    assert client.post("/login/verify", data={"code": stale}).status_code == 401


def test_a_recovery_code_signs_in_once_instead_of_the_app(client, session):
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    sign_in(client, "a@t.example")
    page = client.post(
        "/settings/sign-in/app/codes", data={"confirm-password": PASSWORD}
    ).get_data(as_text=True)
    codes = re.findall(r"<code>([a-z2-9-]{14})</code>", page)
    assert len(codes) == 10
    client.post("/logout")
    password_step(client, "a@t.example")
    response = client.post("/login/verify", data={"code": codes[0].upper()})
    assert response.status_code == 302
    assert "9 left" in client.get("/").get_data(as_text=True)
    client.post("/logout")
    password_step(client, "a@t.example")
    assert client.post("/login/verify", data={"code": codes[0]}).status_code == 401
    row = session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "sign_in").order_by(AuditEvent.id.desc())
    )
    assert json.loads(row.detail) == {"second_factor": "recovery code"}


def test_an_administrator_resets_a_lost_phone(app, client, session):
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    theirs = app.test_client()
    sign_in(theirs, "c@t.example")
    sign_in(client, "a@t.example")
    assert client.post(f"/admin/users/{custody.id}/sign-in-app").status_code == 302
    assert "Sign out" not in theirs.get("/").get_data(as_text=True)  # signed out
    assert password_step(theirs, "c@t.example").location == "/login/enrol"


def test_the_app_cannot_be_turned_off_where_the_role_needs_it(client, session):
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    sign_in(client, "a@t.example")
    page = client.get("/settings/sign-in").get_data(as_text=True)
    assert "Stop using the app" not in page
    client.post("/settings/sign-in/app/off", data={"confirm-password": PASSWORD})
    session.expire_all()
    assert session.scalar(sa.select(User.totp_enrolled_at)) is not None


def test_demo_accounts_are_exempt_only_in_a_demo_database(client, session):
    user = make_user(
        session,
        Role.CUSTODY,
        email="custody@demo.test",
        custody_suite=suite(session, "GLA-LR"),
        mfa=False,
    )
    session.commit()
    assert password_step(client, user.email).location == "/login/enrol"
    client.get("/login")  # start again
    session.add(AppSetting(key=DEMO_SETTING, value="{}"))
    session.commit()
    client.post("/logout")
    assert password_step(client, user.email).location == "/"


def test_the_sign_in_step_expires(client, session, monkeypatch):
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    password_step(client, "a@t.example")
    with client.session_transaction() as state:
        pending = dict(state["pending_sign_in"])
        pending["at"] -= 11 * 60
        state["pending_sign_in"] = pending
    code = next_code(client.application, "a@t.example")
    response = client.post("/login/verify", data={"code": code})
    assert response.status_code == 302 and response.location == "/login"
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def test_a_password_changed_after_the_password_step_cancels_that_sign_in(app, client, session):
    """Someone who knew the old password and reached the code step must not finish
    signing in once the owner has changed the password (the owner's other sessions end
    at that moment; the half-finished sign-in must end too)."""
    make_user(session, Role.ADMIN, email="a@t.example")
    session.commit()
    assert password_step(client, "a@t.example").location.startswith("/login/verify")
    owner = app.test_client()
    sign_in(owner, "a@t.example")
    changed = owner.post(
        "/settings/sign-in/password",
        data={
            "pw-password": PASSWORD,
            "pw-new_password": "a brand new long passphrase",
            "pw-confirm": "a brand new long passphrase",
        },
    )
    assert changed.status_code == 302, changed.get_data(as_text=True)
    code = next_code(app, "a@t.example")
    response = client.post("/login/verify", data={"code": code})
    assert response.status_code == 302 and response.location == "/login"
    assert "Sign out" not in client.get("/").get_data(as_text=True)


def _signed_in(client) -> bool:
    return "Sign out" in client.get("/").get_data(as_text=True)


def test_a_new_phone_being_set_up_leaves_the_app_in_use_and_its_key_to_that_browser(app, session):
    """Setting the app up on a new phone does not leave the account without one: while
    the owner scans the new key, someone with only the password is still asked for a
    code from the app in use, and never sees the new key. Confirming it replaces the
    app and signs the account out everywhere else."""
    user = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    owner, elsewhere, intruder = app.test_client(), app.test_client(), app.test_client()
    sign_in(owner, "c@t.example")
    sign_in(elsewhere, "c@t.example")
    old_key = user.totp_secret
    owner.post("/settings/sign-in/app/new", data={"confirm-password": PASSWORD})
    new_key = setup_key(owner.get("/settings/sign-in/app").get_data(as_text=True))
    assert new_key != old_key

    assert password_step(intruder, "c@t.example").location == "/login/verify"
    assert intruder.get("/login/enrol").location == "/login/verify"
    assert new_key.encode() not in intruder.get("/login/verify").data
    refused = intruder.post("/login/verify", data={"code": pyotp.TOTP(new_key).now()})
    assert refused.status_code == 401 and not _signed_in(intruder)
    session.expire_all()
    assert session.get(User, user.id).totp_secret == old_key  # the app in use still works

    done = owner.post("/settings/sign-in/app", data={"code": pyotp.TOTP(new_key).now()})
    assert done.status_code == 200 and "recovery" in done.get_data(as_text=True).lower()
    session.expire_all()
    assert session.get(User, user.id).totp_secret == new_key
    assert _signed_in(owner) and not _signed_in(elsewhere)
    detail = session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "mfa_reset_by_user")
    )
    assert json.loads(detail) == {"other_sessions_ended": 1}


def test_each_browser_setting_the_app_up_at_sign_in_has_its_own_key(app, session):
    """An account that must set its app up (new, or reset by an administrator): two
    browsers past the password step are shown different keys, and once one is set up
    the other is asked for that app's code; its own key signs nobody in."""
    make_user(
        session,
        Role.PROVIDER,
        email="p@t.example",
        organisation=make_organisation(session),
        mfa=False,
    )
    session.commit()
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        assert password_step(client, "p@t.example").location == "/login/enrol"
    first_key = setup_key(first.get("/login/enrol").get_data(as_text=True))
    second_key = setup_key(second.get("/login/enrol").get_data(as_text=True))
    assert first_key != second_key
    assert setup_key(first.get("/login/enrol").get_data(as_text=True)) == first_key  # a reload
    assert (
        first.post("/login/enrol", data={"code": pyotp.TOTP(first_key).now()}).status_code == 200
    )
    assert _signed_in(first)
    late = second.post("/login/enrol", data={"code": pyotp.TOTP(second_key).now()})
    assert late.location == "/login/verify" and not _signed_in(second)
    session.expire_all()
    assert session.scalar(sa.select(User.totp_secret)) == first_key


def test_signing_out_everywhere_else_stops_a_sign_in_waiting_for_its_code(app, session):
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    session.commit()
    owner, elsewhere = app.test_client(), app.test_client()
    sign_in(owner, "c@t.example")
    assert password_step(elsewhere, "c@t.example").location == "/login/verify"
    assert owner.post("/settings/sign-in/sessions").status_code == 302
    code = next_code(app, "c@t.example")
    answer = elsewhere.post("/login/verify", data={"code": code})
    assert answer.location.startswith("/login") and not _signed_in(elsewhere)
    assert _signed_in(owner) and owner.get("/settings/sign-in").status_code == 200


@pytest.mark.parametrize("change", ["codes", "off"])
def test_new_recovery_codes_or_no_app_sign_out_everywhere_else(app, session, change):
    make_user(session, Role.LEAD, email="l@t.example", areas=[council(session, "Fife")], mfa=True)
    session.commit()
    owner, elsewhere = app.test_client(), app.test_client()
    sign_in(owner, "l@t.example")
    sign_in(elsewhere, "l@t.example")
    answer = owner.post(f"/settings/sign-in/app/{change}", data={"confirm-password": PASSWORD})
    assert answer.status_code in (200, 302)
    assert _signed_in(owner) and not _signed_in(elsewhere)


def test_wrong_codes_from_elsewhere_do_not_pause_the_owners_recognised_browser(app, session):
    """Someone holding the password sends wrong codes from another address until they
    are paused; the owner, on a browser that signed in to the account before, still signs
    in. The intruder's address stays paused, a new browser there too."""
    make_user(session, Role.CUSTODY, email="o@t.example", custody_suite=suite(session, "GLA-LR"))
    session.commit()
    owner_pc, intruder = app.test_client(), app.test_client()
    at_owner, at_intruder = {"REMOTE_ADDR": "10.1.1.1"}, {"REMOTE_ADDR": "203.0.113.9"}
    assert sign_in(owner_pc, "o@t.example", environ_base=at_owner).status_code == 302
    owner_pc.post("/logout", environ_base=at_owner)  # keeps the recognised-device cookie
    intruder.post(
        "/login", data={"email": "o@t.example", "password": PASSWORD}, environ_base=at_intruder
    )
    answers = [
        intruder.post("/login/verify", data={"code": "000000"}, environ_base=at_intruder)
        for _ in range(6)
    ]
    assert [a.status_code for a in answers] == [401] * 5 + [302]
    assert answers[-1].location.startswith("/login")  # paused: back to the password

    assert sign_in(owner_pc, "o@t.example", environ_base=at_owner).location == "/"
    assert "Sign out" in owner_pc.get("/", environ_base=at_owner).get_data(as_text=True)
    another = app.test_client()
    another.post(
        "/login", data={"email": "o@t.example", "password": PASSWORD}, environ_base=at_intruder
    )
    # Paused: sent back to the password before any code is checked (a wrong one is a 401).
    paused = another.post("/login/verify", data={"code": "000000"}, environ_base=at_intruder)
    assert paused.status_code == 302 and paused.location.startswith("/login")


def test_a_wrong_sign_in_code_is_tied_to_the_code_box_and_the_title_says_so(client, session):
    """The message is the code box's own (aria-invalid, described by it, listed in the
    summary), the box is emptied for the next code, and the title starts "Error:"."""
    user = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"), mfa=True)
    session.commit()
    password_step(client, user.email)
    response = client.post("/login/verify", data={"code": "000000"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401 and "That code is not right" in html
    assert "<title>Error: Enter your code" in html
    box = re.search(r'<input[^>]*\bid="code"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in box and "code-error" in box and 'value="000000"' not in box
    assert '<a href="#code">That code is not right' in html
