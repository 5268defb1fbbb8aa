"""Notifications: written to the outbox with the change, delivered by the sender
process through a real SMTP server (or a stand-in for GOV.UK Notify) on loopback,
retried when the mail system is down, never lost and never sent twice."""

from __future__ import annotations

import datetime as dt
import gc
import threading
import time

import jwt
import pytest
import sqlalchemy as sa
import trustme

from referrals.choices import Role
from referrals.extensions import db
from referrals.notifications.cli import one_pass, run
from referrals.notifications.kinds import Kind, Status
from referrals.notifications.models import Notification, NotificationPreference
from referrals.notifications.sender import Policy

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .mailservers import Mailbox, NotifyStandIn, SmtpServer, free_port
from .test_auth import sign_in
from .test_referrals import referral_form

NOON = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)  # a Wednesday


class Clock:
    """A clock the app and the sender read; the test moves it on."""

    def __init__(self, at: dt.datetime = NOON):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at += dt.timedelta(**delta)


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock()
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def smtp(app, mailbox):
    """A plain SMTP server (no STARTTLS) the app sends through."""
    server = SmtpServer(mailbox).start()
    app.config.update(
        NOTIFICATIONS_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        SMTP_STARTTLS=False,
        MAIL_FROM="Referral Pathways <no-reply@referrals.example.org>",
        BASE_URL="https://referrals.example.org",
        NOTIFY_RETRY_SECONDS=60,
    )
    yield server
    server.stop()


@pytest.fixture
def people(session):
    org = make_organisation(session, "Harbour Recovery")
    org.referral_email = "team@harbour.example.org"
    service = make_service(
        session,
        organisation=org,
        name="Harbour MAT",
        referral_email="mat-referrals@harbour.example.org",
    )
    data = {
        "org": org,
        "service": service,
        "custody": make_user(
            session,
            Role.CUSTODY,
            email="officer@police.example",
            custody_suite=suite(session, "GLA-LR"),
        ),
        "provider": make_user(
            session,
            Role.PROVIDER,
            email="manager@harbour.example.org",
            organisation=org,
            manager=True,
        ),
        "worker": make_user(
            session, Role.PROVIDER, email="worker@harbour.example.org", organisation=org
        ),
        "admin": make_user(session, Role.ADMIN, email="admin@t.example"),
    }
    session.commit()
    return data


def deliver(app) -> object:
    with app.app_context():
        try:
            return one_pass(batch=50)
        finally:
            db.session.remove()


def rows(session, **where) -> list[Notification]:
    session.expire_all()
    query = sa.select(Notification).order_by(Notification.id)
    for key, value in where.items():
        query = query.where(getattr(Notification, key) == value)
    return list(session.scalars(query))


def make_referral_through_the_form(client, people, **changes) -> None:
    sign_in(client, "officer@police.example")
    # The consent was given on the day the app's clock reads, not the machine's.
    changes.setdefault("consent_date", NOON.date().isoformat())
    response = client.post("/referrals/new", data=referral_form(people["service"].id, **changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    client.post("/logout")


# -- what is sent, to whom ---------------------------------------------------------------


def test_a_new_referral_is_emailed_to_the_service_inbox_with_no_personal_details(
    app, client, session, people, smtp, mailbox, clock
):
    make_referral_through_the_form(client, people, same_day_urgent="y")
    [row] = rows(session)
    assert (row.kind, row.status, row.address) == (
        Kind.NEW_REFERRAL,
        Status.PENDING,
        "mat-referrals@harbour.example.org",
    )
    assert mailbox.messages == []  # nothing is sent by the web request itself

    tally = deliver(app)
    assert tally.sent == 1
    [message] = mailbox.to("mat-referrals@harbour.example.org")
    referral = row.referral
    assert message["Subject"] == f"Urgent: new referral {referral.reference} to Harbour MAT"
    body = message.get_content()
    assert f"https://referrals.example.org/referrals/{referral.id}" in body
    assert "Please respond today" in body
    for personal in ("GLA/26/001234", "Alex Example", "07700 900123", "Prefers mornings", "G31"):
        assert personal not in body and personal not in message["Subject"]
    assert message["Message-ID"] == f"<notification-{row.id}@referrals.example.org>"
    [sent] = rows(session)
    assert sent.status == Status.SENT and sent.attempts == 1 and sent.sent_at == NOON


def test_without_a_service_inbox_the_organisation_inbox_is_used_then_each_member_of_staff(
    app, client, session, people, smtp, mailbox, clock
):
    people["service"].referral_email = None
    session.commit()
    make_referral_through_the_form(client, people)
    deliver(app)
    assert len(mailbox.to("team@harbour.example.org")) == 1

    people["org"].referral_email = None
    session.commit()
    make_referral_through_the_form(client, people, person_ref="GLA/26/000002")
    deliver(app)
    deliver(app)  # the per-person messages written by the first pass
    assert len(mailbox.to("manager@harbour.example.org")) == 1
    assert len(mailbox.to("worker@harbour.example.org")) == 1


def test_the_referrer_hears_of_acceptance_once_the_undo_window_has_passed(
    app, client, session, people, smtp, mailbox, clock
):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "manager@harbour.example.org")
    client.post(
        f"/referrals/{referral.id}/accept",
        data={"accept-version": "1", "accept-on": clock.at.date().isoformat()},
    )
    deliver(app)
    assert mailbox.to("officer@police.example") == []  # held while it can be undone
    clock.advance(minutes=17)
    deliver(app)
    [message] = mailbox.to("officer@police.example")
    assert message["Subject"] == f"Referral {referral.reference} accepted by Harbour MAT"


def test_an_undone_change_is_never_announced(app, client, session, people, smtp, mailbox, clock):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "manager@harbour.example.org")
    client.post(
        f"/referrals/{referral.id}/decline",
        data={
            "decline-version": "1",
            "decline-on": clock.at.date().isoformat(),
            "decline-reason": "no_capacity",
            "decline-declined_by": "provider",
        },
    )
    clock.advance(minutes=5)
    assert client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}).status_code == 302
    clock.advance(minutes=30)
    deliver(app)
    assert mailbox.messages == []
    [row] = rows(session, kind=Kind.DECLINED)
    assert row.status == Status.CANCELLED and row.last_error == "The change was undone."


def test_a_referrer_who_turned_a_message_off_does_not_get_it(
    app, client, session, people, smtp, mailbox, clock
):
    sign_in(client, "officer@police.example")
    page = client.get("/settings").get_data(as_text=True)
    assert "A referral you made was accepted" in page and "Daily list of overdue" not in page
    client.post("/settings", data={"kinds": ["declined", "engaged", "closed"]})
    client.post("/logout")
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "manager@harbour.example.org")
    client.post(f"/referrals/{referral.id}/accept", data={"accept-version": "1"})
    clock.advance(minutes=20)
    deliver(app)
    assert mailbox.messages == []
    [row] = rows(session, kind=Kind.ACCEPTED)
    assert row.status == Status.CANCELLED and "turned these messages off" in row.last_error


def test_settings_offer_each_role_its_own_messages(client, session, people):
    sign_in(client, "worker@harbour.example.org")
    page = client.get("/settings").get_data(as_text=True)
    assert "listings not checked for 180 days" in page
    assert "Daily list of overdue referrals" not in page  # managers only
    assert 'href="/settings/sign-in"' in page  # password and sign-in app one click away
    assert 'href="/settings"' in client.get("/settings/sign-in").get_data(as_text=True)
    client.post("/logout")
    sign_in(client, "manager@harbour.example.org")
    assert "Daily list of overdue referrals" in client.get("/settings").get_data(as_text=True)
    assert client.get("/settings").status_code == 200
    client.post("/logout")
    assert client.get("/settings").status_code == 302  # sign in first


def test_settings_need_a_csrf_token(app_factory, session, people):
    from .conftest import csrf_token
    from .test_auth import next_code

    client = app_factory(WTF_CSRF_ENABLED=True).test_client()
    html = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "email": "officer@police.example",
            "password": "correct horse battery staple",
            "csrf_token": csrf_token(html),
        },
    )
    verify = client.get("/login/verify").get_data(as_text=True)
    code = next_code(client.application, "officer@police.example")
    signed_in = client.post("/login/verify", data={"code": code, "csrf_token": csrf_token(verify)})
    assert signed_in.status_code == 302
    assert client.post("/settings", data={"kinds": []}).status_code == 400
    assert session.scalar(sa.select(sa.func.count()).select_from(NotificationPreference)) == 0
    page = client.get("/settings").get_data(as_text=True)
    assert 'value="accepted" id="kind-accepted" checked' in page


# -- delivery: the mail system going away ------------------------------------------------


# Stopping the mail server mid-conversation leaves its side of the connection to the
# garbage collector (asyncio closes no open connections when a server stops on 3.11): that
# is this test's doing, not a leak in the product, so it is collected here, not in
# whichever test runs next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_mail_server_stopped_mid_run_loses_nothing_and_sends_nothing_twice(
    app, session, people, mailbox
):
    """The sender runs as it does in production (its loop, in its own thread); the mail
    server stops after a few messages and comes back a little later on the same port."""
    port = free_port()
    app.config.update(
        NOTIFICATIONS_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        SMTP_TIMEOUT=2,
        NOTIFY_RETRY_SECONDS=1,
        NOTIFY_RETRY_MAX_SECONDS=1,
    )
    for n in range(20):
        session.add(
            Notification(
                kind=Kind.WEEKLY_SUMMARY,
                address=f"inbox{n}@harbour.example.org",
                payload='{"period": "1 to 7 Dec 2026"}',
            )
        )
    session.commit()

    server = SmtpServer(mailbox, port=port).start()
    stop = threading.Event()

    def sender():
        with app.app_context():
            run(stop, interval=0.2, batch=3)

    thread = threading.Thread(target=sender)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(mailbox.messages) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.stop()  # mid-run: the sender is still working through the outbox
        stopped_with = len(mailbox.messages)
        # The sender's next try fails and says why (however busy the machine).
        deadline = time.monotonic() + 30
        while True:
            waiting = [r for r in rows(session) if r.status == Status.PENDING]
            failed = [r for r in waiting if r.last_error and "mail server" in r.last_error]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert stopped_with < 20 and waiting, "the server should stop before the outbox is empty"
        assert failed
        server = SmtpServer(mailbox, port=port).start()
        deadline = time.monotonic() + 30
        while len(mailbox.messages) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=30)
        server.stop()
        gc.collect()
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        f"inbox{n}@harbour.example.org" for n in range(20)
    )
    assert len(set(mailbox.ids)) == 20  # none twice
    assert {r.status for r in rows(session)} == {Status.SENT}
    assert any(r.attempts > 1 for r in rows(session))


def test_failures_after_n_attempts_are_shown_to_admins_who_can_retry(
    app, client, session, people, mailbox, clock
):
    port = free_port()  # nothing listens here yet
    app.config.update(
        NOTIFICATIONS_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        NOTIFY_MAX_ATTEMPTS=3,
        NOTIFY_RETRY_SECONDS=60,
    )
    make_referral_through_the_form(client, people)
    deliver(app)
    [row] = rows(session)
    assert (row.status, row.attempts) == (Status.PENDING, 1)
    assert row.next_attempt_at == clock.at + dt.timedelta(seconds=60)
    deliver(app)
    assert rows(session)[0].attempts == 1  # not due yet
    clock.advance(seconds=61)
    deliver(app)
    assert rows(session)[0].next_attempt_at == clock.at + dt.timedelta(seconds=120)  # doubled
    clock.advance(seconds=121)
    deliver(app)
    [row] = rows(session)
    assert (row.status, row.attempts) == (Status.FAILED, 3)

    sign_in(client, "admin@t.example")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "New referral" in page and "Could not reach the mail server" in page
    assert row.referral.reference in page
    response = client.post("/admin/outbox/retry", data={"id": str(row.id)}, follow_redirects=True)
    assert "1 message will be sent again shortly." in response.get_data(as_text=True)
    server = SmtpServer(mailbox, port=port).start()
    try:
        deliver(app)
    finally:
        server.stop()
    [row] = rows(session)
    assert (row.status, row.attempts) == (Status.SENT, 1)
    assert len(mailbox.messages) == 1


def test_an_address_the_mail_server_refuses_fails_at_once(
    app, client, session, people, smtp, mailbox, clock
):
    mailbox.refuse.add("mat-referrals@harbour.example.org")
    make_referral_through_the_form(client, people)
    deliver(app)
    [row] = rows(session)
    assert (row.status, row.attempts) == (Status.FAILED, 1)
    assert "refused the address (550)" in row.last_error


def test_smtp_with_starttls(app, client, session, people, mailbox, clock, tmp_path):
    ca = trustme.CA()
    certificate = ca.issue_cert("127.0.0.1", "localhost")
    server_context = __import__("ssl").create_default_context(
        __import__("ssl").Purpose.CLIENT_AUTH
    )
    certificate.configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = SmtpServer(mailbox, tls_context=server_context).start()
    app.config.update(
        NOTIFICATIONS_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        SMTP_STARTTLS=True,
        SMTP_CA_FILE="",
    )
    try:
        make_referral_through_the_form(client, people)
        deliver(app)  # the test CA is not trusted: not sent, tried again later
        [row] = rows(session)
        assert row.status == Status.PENDING and "certificate" in row.last_error.lower()
        assert mailbox.messages == []
        app.config["SMTP_CA_FILE"] = str(ca_file)
        clock.advance(minutes=2)
        deliver(app)
    finally:
        server.stop()
    assert len(mailbox.messages) == 1 and rows(session)[0].status == Status.SENT


# -- GOV.UK Notify --------------------------------------------------------------------------

SERVICE_ID = "6a3f2b1c-0000-4000-8000-00000000abcd"
SECRET = "1b2c3d4e-0000-4000-8000-0000000000ef"


def test_gov_uk_notify_gets_the_template_reference_and_a_signed_token(
    app, client, session, people, clock
):
    with NotifyStandIn() as notify:
        app.config.update(
            NOTIFICATIONS_BACKEND="notify",
            NOTIFY_API_KEY=f"referrals_test-{SERVICE_ID}-{SECRET}",
            NOTIFY_BASE_URL=notify.url,
            NOTIFY_TEMPLATES={"NOTIFY_TEMPLATE_NEW_REFERRAL": "tmpl-new-referral"},
            BASE_URL="https://referrals.example.org",
        )
        notify.answers = [500, 201]
        make_referral_through_the_form(client, people)
        deliver(app)
        [row] = rows(session)
        assert row.status == Status.PENDING and "500" in row.last_error
        clock.advance(minutes=2)
        deliver(app)
    [row] = rows(session)
    assert (row.status, row.delivery_id) == (Status.SENT, "notify-2")
    first, second = notify.calls
    assert second.path == "/v2/notifications/email"
    assert second.body["email_address"] == "mat-referrals@harbour.example.org"
    assert second.body["template_id"] == "tmpl-new-referral"
    assert first.body["reference"] == second.body["reference"] == f"notification-{row.id}"
    personalisation = second.body["personalisation"]
    assert personalisation["reference"] == row.referral.reference
    assert personalisation["link"] == f"https://referrals.example.org/referrals/{row.referral_id}"
    assert "GLA/26/001234" not in str(personalisation)
    token = second.authorization.removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["iss"] == SERVICE_ID


def test_notify_refusing_a_message_fails_it_and_a_missing_template_says_which(
    app, client, session, people, clock
):
    with NotifyStandIn() as notify:
        app.config.update(
            NOTIFICATIONS_BACKEND="notify",
            NOTIFY_API_KEY=f"referrals_test-{SERVICE_ID}-{SECRET}",
            NOTIFY_BASE_URL=notify.url,
            NOTIFY_TEMPLATES={"NOTIFY_TEMPLATE_DEFAULT": "tmpl-any"},
        )
        notify.answers = [400]
        make_referral_through_the_form(client, people)
        deliver(app)
        app.config["NOTIFY_TEMPLATES"] = {}
        make_referral_through_the_form(client, people, person_ref="GLA/26/000009")
        deliver(app)
    first, second = rows(session)
    assert first.status == Status.FAILED and "400" in first.last_error
    assert second.status == Status.FAILED and "NOTIFY_TEMPLATE_NEW_REFERRAL" in second.last_error
    assert len(notify.calls) == 1


# -- several senders ------------------------------------------------------------------------


class CountingBackend:
    name = "counting"

    def __init__(self):
        self.sent: list[str] = []
        self.lock = threading.Lock()

    def send(self, message) -> str:
        time.sleep(0.005)
        with self.lock:
            self.sent.append(message.reference)
        return message.reference


def test_several_senders_share_the_outbox_and_send_each_message_once(app_factory, session, people):
    for n in range(60):
        session.add(
            Notification(
                kind=Kind.WEEKLY_SUMMARY,
                address=f"lead{n}@t.example",
                payload='{"period": "1 to 7 Dec 2026"}',
            )
        )
    session.commit()
    backend = CountingBackend()
    from referrals.notifications.sender import deliver_due

    def sender(own):
        with own.app_context():
            deliver_due(db.session, backend, Policy(), batch=4)
            db.session.remove()

    # Each sender is an app of its own, as in its own process. The apps are built here:
    # building apps in several threads at once trips a thread-safety bug in Python 3.11's
    # compiler, which the routes use.
    apps = [app_factory() for _ in range(3)]
    threads = [threading.Thread(target=sender, args=(own,)) for own in apps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(backend.sent) == sorted({f"notification-{r.id}" for r in rows(session)})
    assert len(backend.sent) == 60
    assert {r.status for r in rows(session)} == {Status.SENT}


def test_the_sender_command_runs_one_pass(runner, session, people):
    session.add(
        Notification(
            kind=Kind.WEEKLY_SUMMARY,
            address="lead@t.example",
            payload='{"period": "1 to 7 Dec 2026"}',
        )
    )
    session.commit()
    result = runner.invoke(args=["send-notifications", "--once"])
    assert result.exit_code == 0, result.output
    assert "Outbox: 1 sent, 0 to try again, 0 failed, 0 not needed." in result.output
    assert rows(session)[0].status == Status.SENT
    help_text = runner.invoke(args=["send-notifications", "--help"]).output
    assert "--once" in help_text and "SKIP" not in help_text


def _weekly(session, n: int) -> None:
    for i in range(n):
        session.add(
            Notification(
                kind=Kind.WEEKLY_SUMMARY,
                address=f"lead{i}@t.example",
                payload='{"period": "1 to 7 Dec 2026"}',
                next_attempt_at=NOON - dt.timedelta(hours=1),
            )
        )
    session.commit()


def test_a_row_another_sender_took_once_a_slow_batchs_lease_ran_out_is_not_sent_again(
    app, session, people, clock
):
    """Sender A claims a batch and is slow; its lease runs out, sender B claims the rows
    and sends them; A, coming to them at last, sends none of them again."""
    from referrals.notifications.sender import claim, deliver_due, still_mine

    _weekly(session, 3)
    backend = CountingBackend()
    with app.app_context():
        token, ids = claim(db.session, clock(), 50)
        assert len(ids) == 3
        clock.advance(minutes=11)  # A's lease is over
        assert deliver_due(db.session, backend, Policy()).sent == 3  # sender B
        assert [still_mine(db.session, i, token) for i in ids] == [False] * 3
        db.session.remove()
    assert len(backend.sent) == 3


def test_a_stopping_sender_finishes_the_message_in_hand_and_gives_back_the_rest(
    app, session, people, clock
):
    from referrals.notifications.sender import deliver_due

    _weekly(session, 6)
    backend = CountingBackend()
    with app.app_context():
        tally = deliver_due(db.session, backend, Policy(), stop=lambda: len(backend.sent) >= 2)
        db.session.remove()
    assert tally.sent == 2 and len(backend.sent) == 2
    waiting = [r for r in rows(session) if r.status == Status.PENDING]
    assert len(waiting) == 4 and all(r.claim_token is None for r in waiting)
    with app.app_context():
        assert deliver_due(db.session, backend, Policy()).sent == 4  # another sender, at once
        db.session.remove()


def test_a_closing_message_never_says_why_the_referral_closed(app, session, people, clock):
    """A death or a prison sentence is a personal detail: the service's message says the
    referral closed, and the page says why."""
    from referrals.notifications.messages import compose

    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        status="closed",
        close_reason="died",
    )
    row = Notification(
        kind=Kind.CLOSED,
        referral=referral,
        address="team@t.example",
        payload='{"reason": "died"}',
    )
    session.add(row)
    session.commit()
    with app.test_request_context():
        message = compose(db.session, db.session.get(Notification, row.id))
    text = f"{message.subject}\n{message.body}".lower()
    assert referral.reference.lower() in text and "closed" in text
    assert "died" not in text and "death" not in text


@pytest.mark.parametrize(
    ("closer", "subject", "opening"),
    [
        (
            "worker@harbour.example.org",
            "closed by Harbour MAT",
            "Harbour MAT has closed referral",
        ),
        (
            "colleague@police.example",
            "closed at London Road Police Office custody",
            "A colleague at London Road Police Office custody has closed referral",
        ),
        (
            "admin@t.example",
            "closed by an administrator",
            "An administrator of Referral Pathways has closed referral",
        ),
    ],
)
def test_the_referrer_is_told_who_closed_their_referral(
    app, client, session, people, smtp, mailbox, clock, closer, subject, opening
):
    """A custody colleague's or an administrator's closing (as entered in error) is not
    the service's decision, and the message to the referrer does not say it is."""
    make_user(
        session,
        Role.CUSTODY,
        email="colleague@police.example",
        custody_suite=suite(session, "GLA-LR"),
    )
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, closer)
    reason = "completed" if closer.endswith("harbour.example.org") else "entered_in_error"
    response = client.post(
        f"/referrals/{referral.id}/close",
        data={
            "close-version": "1",
            "close-on": clock.at.date().isoformat(),
            "close-reason": reason,
        },
    )
    assert response.status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    [message] = mailbox.to("officer@police.example")
    assert message["Subject"] == f"Referral {referral.reference} {subject}"
    assert f"{opening} {referral.reference}" in message.get_content()


def test_a_new_referral_nobody_can_be_told_of_is_shown_to_administrators(
    app, client, session, people, clock
):
    """An organisation with no referral inbox and no active staff: the message is kept
    as failed, with what to do, where administrators look."""
    lonely = make_organisation(session, "Quiet Trust")
    service = make_service(session, organisation=lonely, name="Quiet Service")
    referral = make_referral(session, service=service, referrer=people["custody"])
    session.add(
        Notification(
            kind=Kind.NEW_REFERRAL,
            referral=referral,
            organisation_id=lonely.id,
            payload="{}",
            next_attempt_at=clock.at,
        )
    )
    session.commit()
    deliver(app)
    [row] = rows(session, kind=Kind.NEW_REFERRAL)
    assert row.status == Status.FAILED and "no referral inbox and no active staff" in (
        row.last_error or ""
    )
    sign_in(client, "admin@t.example")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert referral.reference in page and "Quiet Trust has no referral inbox" in page


# -- the database stays free while the sender talks to the mail system ------------------


class WritingBackend:
    """A mail system that, while it has the message, lets a web request write to the
    database (as one would, any time): it records whether the write got through."""

    name = "writing"

    def __init__(self, database_path: str):
        self.path = database_path
        self.writes: list[str] = []

    def send(self, message) -> str:
        import sqlite3

        connection = sqlite3.connect(self.path, timeout=0.5)
        try:
            connection.execute("UPDATE users SET name = name WHERE id = -1")
            connection.commit()
            self.writes.append("written")
        except sqlite3.OperationalError as exc:
            self.writes.append(str(exc))
        finally:
            connection.close()
        return message.reference


def sqlite_path(app) -> str:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite:///"):
        pytest.skip("the write lock is SQLite's")
    return url.removeprefix("sqlite:///")


def test_web_requests_can_write_while_the_sender_waits_for_the_mail_system(
    app, session, people, clock
):
    referral = make_referral(session, service=people["service"], referrer=people["custody"])
    session.add_all(
        [
            Notification(kind=Kind.ACCEPTED, referral=referral, user_id=people["custody"].id),
            Notification(kind=Kind.NEW_REFERRAL, referral=referral, address="x@t.example"),
            Notification(
                kind=Kind.WEEKLY_SUMMARY, user_id=people["admin"].id, payload='{"period": "x"}'
            ),
        ]
    )
    for row in session.new:
        if isinstance(row, Notification):
            row.next_attempt_at = clock.at
    session.commit()
    backend = WritingBackend(sqlite_path(app))
    from referrals.notifications.sender import deliver_due

    with app.app_context():
        assert deliver_due(db.session, backend, Policy()).sent == 3
        db.session.remove()
    assert backend.writes == ["written"] * 3
    assert {(r.status, r.attempts, r.claim_token) for r in rows(session)} == {
        (Status.SENT, 1, None)
    }


class Died(BaseException):
    """The sender process killed in the middle of a send."""


class DyingBackend:
    name = "dying"

    def send(self, message) -> str:
        raise Died()


def test_a_sender_killed_mid_send_leaves_the_message_to_another_once_its_claim_ends(
    app, session, people, clock
):
    from referrals.notifications.sender import deliver_due

    _weekly(session, 1)
    with app.app_context():
        with pytest.raises(Died):
            deliver_due(db.session, DyingBackend(), Policy())
        db.session.remove()
    [row] = rows(session)
    assert row.status == Status.PENDING and row.claimed_until > clock.at
    backend = CountingBackend()
    with app.app_context():
        assert deliver_due(db.session, backend, Policy()).total == 0  # still claimed
        clock.advance(minutes=11)
        assert deliver_due(db.session, backend, Policy()).sent == 1
        db.session.remove()
    assert backend.sent == [f"notification-{row.id}"]


# -- a mail server that took the message --------------------------------------------------


class RudeAtQuit:
    """An SMTP server on loopback that takes every message (250 after DATA) and then
    answers QUIT with 421, as a server shutting down may."""

    def __init__(self, trickle: float = 0.0):
        """``trickle``: seconds between each byte of every answer (0: answers at once)."""
        import socketserver

        self.accepted = 0
        owner = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(line: str) -> None:
                    if not trickle:
                        self.wfile.write(f"{line}\r\n".encode())
                        return
                    for byte in f"{line}\r\n".encode():
                        time.sleep(trickle)
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()

                say("220 test ESMTP")
                in_data = False
                for raw in self.rfile:
                    line = raw.decode().rstrip("\r\n")
                    if in_data:
                        if line == ".":
                            in_data = False
                            owner.accepted += 1
                            say("250 2.0.0 queued")
                        continue
                    command = line.split(" ")[0].upper()
                    if command == "QUIT":
                        say("421 4.3.2 shutting down")
                        return
                    in_data = command == "DATA"
                    say("354 go ahead" if in_data else "250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def smtp_backend(port: int, **settings):
    from referrals.notifications.backends import SmtpBackend

    return SmtpBackend(
        {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_USERNAME": "",
            "SMTP_PASSWORD": "",
            "SMTP_STARTTLS": False,
            "SMTP_CA_FILE": "",
            "SMTP_TIMEOUT": 5,
            "MAIL_FROM": "Referral Pathways <no-reply@referrals.example.org>",
            **settings,
        }
    )


def test_a_message_the_mail_server_took_is_sent_even_if_it_then_fails_to_say_goodbye():
    from referrals.notifications.messages import Message

    server = RudeAtQuit()
    try:
        backend = smtp_backend(server.port)
        sent = backend.send(Message(7, "accepted", "officer@police.example", "Subject", "Body"))
    finally:
        server.stop()
    assert sent == "<notification-7@referrals.example.org>"
    assert server.accepted == 1


def test_a_mail_server_trickling_its_answers_is_cut_off_at_the_deadline():
    """Each byte comes well within the timeout, so only a deadline on the whole message
    stops a server holding the sender past its claim (and every message behind it)."""
    from referrals.notifications.backends import DeliveryError
    from referrals.notifications.messages import Message

    server = RudeAtQuit(trickle=0.1)
    try:
        backend = smtp_backend(server.port, SMTP_TIMEOUT=1.0, SMTP_DEADLINE=1.5)
        started = time.monotonic()
        with pytest.raises(DeliveryError, match=r"did not finish within 1\.5 seconds") as failed:
            backend.send(Message(8, "accepted", "officer@police.example", "Subject", "Body"))
        took = time.monotonic() - started
    finally:
        server.stop()
    assert 1.4 < took < 3.5
    assert not failed.value.permanent  # tried again later
    assert server.accepted == 0


# -- the words --------------------------------------------------------------------------------


def test_messages_give_the_response_time_the_service_is_set_to(app, session, people, clock):
    from referrals.notifications.messages import compose

    app.config["OVERDUE_WORKING_DAYS"] = 3
    referral = make_referral(session, service=people["service"], referrer=people["custody"])
    new = Notification(kind=Kind.NEW_REFERRAL, referral=referral, address="x@t.example")
    digest = Notification(
        kind=Kind.OVERDUE_DIGEST,
        address="team@harbour.example.org",
        payload='{"organisation": "Harbour Recovery", "count": 1, "items": [["RP-1", "MAT"]]}',
    )
    session.add_all([new, digest])
    session.commit()
    with app.test_request_context():
        texts = [
            compose(db.session, db.session.get(Notification, row.id)) for row in (new, digest)
        ]
    assert "(3 working days)" in texts[0].body
    assert "within 3 working days" in texts[1].body
    assert not [t for t in texts if "5 working days" in t.body]


def close_as(client, referral, reason: str, on: dt.date, version: int = 1):
    return client.post(
        f"/referrals/{referral.id}/close",
        data={"close-version": str(version), "close-on": on.isoformat(), "close-reason": reason},
    )


@pytest.mark.parametrize(
    ("closer", "subject", "opening"),
    [
        (
            "officer@police.example",  # the referrer
            "closed at London Road Police Office custody",
            "Custody staff at London Road Police Office custody closed referral",
        ),
        (
            "admin@t.example",
            "closed by an administrator",
            "An administrator of Referral Pathways closed referral",
        ),
    ],
)
def test_the_service_is_told_when_someone_else_closes_a_referral_to_it(
    app, client, session, people, smtp, mailbox, clock, closer, subject, opening
):
    """A referral closed at the custody suite (entered in error, before the service
    answered) or by an administrator: the service's inbox hears of it once the undo
    window has passed, without the reason, so that nobody there goes on with it."""
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, closer)
    assert close_as(client, referral, "entered_in_error", clock.at.date()).status_code == 302
    deliver(app)
    assert mailbox.to("mat-referrals@harbour.example.org") == []  # held while it can be undone
    clock.advance(minutes=17)
    deliver(app)
    [message] = mailbox.to("mat-referrals@harbour.example.org")
    assert message["Subject"] == f"Referral {referral.reference} {subject}"
    body = message.get_content()
    assert f"{opening} {referral.reference} to Harbour MAT" in body
    assert "You do not need to work on it any more." in body
    assert "error" not in body.lower()
    assert f"/referrals/{referral.id}" in body


def test_the_service_is_not_told_of_its_own_closing(
    app, client, session, people, smtp, mailbox, clock
):
    referral = make_referral(
        session,
        service=people["service"],
        referrer=people["custody"],
        referred_on=clock.at.date(),
        status="accepted",
        accepted_on=clock.at.date(),
    )
    session.commit()
    sign_in(client, "worker@harbour.example.org")
    assert close_as(client, referral, "not_contactable", clock.at.date()).status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    assert mailbox.to("mat-referrals@harbour.example.org") == []
    assert [m["Subject"] for m in mailbox.to("officer@police.example")] == [
        f"Referral {referral.reference} closed by Harbour MAT"
    ]


def test_the_first_service_is_told_when_custody_passes_a_referral_on(
    app, client, session, people, smtp, mailbox, clock
):
    other = make_service(
        session,
        organisation=make_organisation(session, "Hill Trust"),
        name="Hill Detox",
        type_code="detox",
        lat=55.86,
        lon=-4.22,
        referral_email="detox@hill.example.org",
    )
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "officer@police.example")
    response = client.post(
        f"/referrals/{referral.id}/refer-on",
        data={"version": "1", "service": str(other.id), "consent": "y", "note": "Detox first."},
    )
    assert response.status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    [message] = mailbox.to("mat-referrals@harbour.example.org")
    assert message["Subject"] == (
        f"Referral {referral.reference} passed on to another service at "
        "London Road Police Office custody"
    )
    assert (
        f"Custody staff at London Road Police Office custody passed referral "
        f"{referral.reference} to Harbour MAT on to another service"
    ) in message.get_content()
    assert len(mailbox.to("detox@hill.example.org")) == 1  # the new referral


def test_a_closing_undone_is_never_announced_to_the_service(
    app, client, session, people, smtp, mailbox, clock
):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "officer@police.example")
    assert close_as(client, referral, "entered_in_error", clock.at.date()).status_code == 302
    assert client.post(f"/referrals/{referral.id}/undo", data={"version": "2"}).status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    assert mailbox.to("mat-referrals@harbour.example.org") == []
    [row] = rows(session, kind=Kind.WITHDRAWN)
    assert row.status == Status.CANCELLED and row.last_error == "The change was undone."


def test_a_service_told_to_stop_is_told_when_the_referral_is_reopened(
    app, client, session, people, smtp, mailbox, clock
):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "admin@t.example")
    assert close_as(client, referral, "entered_in_error", clock.at.date()).status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    assert len(mailbox.to("mat-referrals@harbour.example.org")) == 1  # closed: stop
    reopened = client.post(
        f"/referrals/{referral.id}/reopen",
        data={
            "reopen-version": "2",
            "reopen-note": "Closed by mistake",
            "reopen-on": clock.at.date().isoformat(),
        },
    )
    assert reopened.status_code == 302
    deliver(app)
    _closed, back = mailbox.to("mat-referrals@harbour.example.org")
    assert back["Subject"] == f"Referral {referral.reference} to Harbour MAT reopened"
    assert "has been reopened by an administrator" in back.get_content()


def test_a_closing_taken_back_before_the_service_heard_of_it_says_nothing_more(
    app, client, session, people, smtp, mailbox, clock
):
    referral = make_referral(
        session, service=people["service"], referrer=people["custody"], referred_on=clock.at.date()
    )
    session.commit()
    sign_in(client, "admin@t.example")
    assert close_as(client, referral, "entered_in_error", clock.at.date()).status_code == 302
    reopened = client.post(
        f"/referrals/{referral.id}/reopen",
        data={
            "reopen-version": "2",
            "reopen-note": "Closed by mistake",
            "reopen-on": clock.at.date().isoformat(),
        },
    )
    assert reopened.status_code == 302
    clock.advance(minutes=17)
    deliver(app)
    assert mailbox.to("mat-referrals@harbour.example.org") == []
