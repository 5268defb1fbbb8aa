"""Failed sign-ins slow guessing, answer alike for accounts that exist and ones that do
not, and cannot be used to keep someone else out."""

import re
import threading
import time

import pytest
import sqlalchemy as sa

from referrals.auth import signin
from referrals.choices import Role
from referrals.models import AuditEvent

from .factories import PASSWORD, make_user, suite
from .test_auth import sign_in

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OFFICER = {"REMOTE_ADDR": "198.51.100.10"}


@pytest.fixture
def officer(session):
    user = make_user(
        session, Role.CUSTODY, email="officer@t.example", custody_suite=suite(session, "GLA-LR")
    )
    session.commit()
    return user


def attempt(client, email, guess=None, **env):
    response = client.post(
        "/login",
        data={"email": email, "password": guess or "wrong password"},
        environ_base=env or ATTACKER,
    )
    return response.status_code, response.get_data(as_text=True)


def message(html: str) -> str:
    """The alert's words, the time a pause ends put as "HH:MM": each account's pause
    runs from its own first attempt, and two attempts a moment apart may fall either
    side of a minute."""
    start = html.index('role="alert"')
    return re.sub(r"\b\d{2}:\d{2}\b", "HH:MM", html[start : html.index("</div>", start)])


def test_known_and_unknown_accounts_get_the_same_answers_throughout(app, officer):
    """Every attempt, including the ones refused once paused: the same status and the
    same words whether or not the account exists."""
    known, unknown = app.test_client(), app.test_client()
    for n in range(7):
        a = attempt(known, "officer@t.example")
        b = attempt(unknown, "nobody@t.example")
        assert a[0] == b[0], n
        assert message(a[1]) == message(b[1]), n
    assert a[0] == 429 and "Signing in is paused" in a[1]


def test_every_answer_does_the_same_work(app, session, officer, monkeypatch):
    """One password hash checked per attempt, whatever the outcome, so response times do
    not tell accounts apart (a paused account once answered ten times faster)."""
    officer.active = True
    make_user(session, Role.ADMIN, email="gone@t.example", active=False)
    session.commit()
    checks = []
    real = signin.check_password_hash

    def counting(hash_, password):
        checks.append(hash_)
        return real(hash_, password)

    monkeypatch.setattr(signin, "check_password_hash", counting)
    monkeypatch.setattr("referrals.models.check_password_hash", counting)
    client = app.test_client()
    cases = [
        ("officer@t.example", "wrong password"),  # known, wrong
        ("nobody@t.example", "wrong password"),  # unknown
        ("gone@t.example", PASSWORD),  # deactivated, right password
    ]
    for email, password in cases:
        checks.clear()
        attempt(client, email, password, **OFFICER)
        assert len(checks) == 1, email
    for _ in range(5):
        attempt(client, "officer@t.example")
    checks.clear()
    assert attempt(client, "officer@t.example")[0] == 429  # paused: still one check
    assert len(checks) == 1


def test_a_deactivated_account_with_the_right_password_is_told_nothing_more(app, session):
    make_user(session, Role.ADMIN, email="gone@t.example", active=False)
    session.commit()
    status, html = attempt(app.test_client(), "gone@t.example", PASSWORD)
    assert status == 401 and "The email address or password is not right" in html
    assert "deactivated" not in html
    row = session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
    assert row.action == "sign_in_failed" and '"reason": "inactive"' in row.detail


def test_an_attacker_cannot_keep_the_officer_out_from_elsewhere(app, officer):
    attacker = app.test_client()
    for _ in range(10):
        attempt(attacker, "officer@t.example")
    assert attempt(attacker, "officer@t.example")[0] == 429  # the attacker is paused
    officer_pc = app.test_client()
    assert sign_in(officer_pc, "officer@t.example", environ_base=OFFICER).status_code == 302


def test_a_spread_out_attack_pauses_new_devices_but_not_the_officers_own(app, officer):
    officer_pc = app.test_client()
    assert sign_in(officer_pc, "officer@t.example", environ_base=OFFICER).status_code == 302
    officer_pc.post("/logout")  # the browser keeps its recognised-device cookie
    attacker = app.test_client()
    for n in range(20):  # one guess from each of 20 addresses
        attempt(attacker, "officer@t.example", **{"REMOTE_ADDR": f"203.0.113.{n}"})
    new_device = app.test_client()
    assert attempt(new_device, "officer@t.example", PASSWORD, **OFFICER)[0] == 429
    assert sign_in(officer_pc, "officer@t.example", environ_base=OFFICER).status_code == 302


def test_a_pause_ends_by_itself(app_factory, officer):
    app = app_factory(SIGN_IN_FAILURES_PER_ACCOUNT="2 per 1 second")
    client = app.test_client()
    attempt(client, "officer@t.example")
    attempt(client, "officer@t.example")
    assert attempt(client, "officer@t.example")[0] == 429
    time.sleep(1.1)
    assert sign_in(client, "officer@t.example", environ_base=ATTACKER).status_code == 302


def test_failures_are_counted_across_workers(app_factory, officer):
    """Two app instances, as two gunicorn workers (or machines) on one database."""
    first, second = app_factory().test_client(), app_factory().test_client()
    for client in (first, second, first, second, first):
        assert attempt(client, "officer@t.example")[0] == 401
    assert attempt(second, "officer@t.example")[0] == 429


def test_wrong_codes_from_the_app_are_counted_and_start_the_sign_in_again(app, session, officer):
    client = app.test_client()
    client.post("/login", data={"email": "officer@t.example", "password": PASSWORD})
    for _ in range(5):
        assert client.post("/login/verify", data={"code": "000000"}).status_code == 401
    response = client.post("/login/verify", data={"code": "000000"})
    assert response.status_code == 302 and response.location == "/login"
    assert "Signing in is paused" in client.get("/login").get_data(as_text=True)


def _all_at_once(app, count: int, send) -> list[int]:
    """``send(client, n)`` from ``count`` threads released together: guesses sent in
    parallel, each on its own connection as from separate workers."""
    gate = threading.Barrier(count)
    answers: list[int] = [0] * count

    def run(n: int) -> None:
        client = app.test_client()
        gate.wait()
        answers[n] = send(client, n)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_guesses_sent_all_at_once_get_no_more_tries_than_one_after_another(app, officer):
    """Each guess is counted before its password is checked: twelve sent together get
    the five that twelve sent one by one would get, not twelve."""

    def guess(client, n):
        return attempt(client, "officer@t.example", f"wrong {n}")[0]

    answers = _all_at_once(app, 12, guess)
    assert sorted(answers) == [401] * 5 + [429] * 7, answers
    assert (
        sign_in(app.test_client(), "officer@t.example", environ_base=ATTACKER).status_code == 429
    )


def test_codes_sent_all_at_once_get_no_more_tries_than_one_after_another(app_factory, officer):
    """Wrong codes are counted per account and address, and per account from every
    address (here 5 an hour): twelve sent together from twelve addresses get the five
    that twelve sent one by one would get."""
    app = app_factory(SIGN_IN_FAILURES_PER_ACCOUNT_ANYWHERE="5 per hour")
    first = app.test_client()
    first.post("/login", data={"email": "officer@t.example", "password": PASSWORD})
    cookie = first.get_cookie("session").value

    def guess(client, n):
        client.set_cookie("session", cookie)
        environ = {"REMOTE_ADDR": f"198.51.100.{n + 20}"}
        return client.post("/login/verify", data={"code": f"{n:06d}"}, environ_base=environ)

    answers = [r.status_code for r in _all_at_once(app, 12, guess)]
    assert answers.count(401) == 5 and answers.count(302) == 7, answers


def test_signing_in_is_not_counted_against_a_shared_address(app_factory, session):
    """Officers of a whole station sign in from one address: only failures count."""
    app = app_factory(SIGN_IN_FAILURES_PER_ADDRESS="3 per hour")
    for n in range(5):
        make_user(session, Role.LEAD, email=f"lead{n}@t.example", mfa=False)
    session.commit()
    for n in range(5):
        response = sign_in(app.test_client(), f"lead{n}@t.example", environ_base=OFFICER)
        assert response.status_code == 302, n
