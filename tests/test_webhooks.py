"""Webhooks: each status change to a referral in a system's scope is posted to the
system's own address (a real HTTP server on loopback here), signed with its secret,
with no personal details; retried while the system is down, never lost, never twice."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from referrals.api.models import ApiClient
from referrals.choices import Role
from referrals.extensions import db
from referrals.models import Referral
from referrals.notifications.backends import LogBackend
from referrals.notifications.kinds import Kind, Status
from referrals.notifications.models import Notification
from referrals.notifications.sender import Policy, deliver_due
from referrals.webhooks.addresses import AddressProblem, checked_url
from referrals.webhooks.events import remember
from referrals.webhooks.registration import remove, set_address
from referrals.webhooks.signing import signature, verify

from .factories import (
    bearer,
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_api_referrals import new_referral
from .test_auth import sign_in
from .test_notifications import Clock
from .test_referrals import referral_form
from .webhook_receiver import Receiver


@pytest.fixture(autouse=True)
def names(monkeypatch) -> dict[str, list[str]]:
    """The resolver, without the network: each name leads to the addresses listed here
    (change them to move a name), IP literals to themselves, any other name nowhere."""
    table = {
        "cases.example.org": ["93.184.215.14"],
        "c.example": ["93.184.215.14"],
        "x.example": ["93.184.215.14"],
        "localhost": ["127.0.0.1"],
    }
    real = socket.getaddrinfo

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host not in table:
            return real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)
        return [
            answer
            for address in table[host]
            for answer in real(address, port, family, type, proto, socket.AI_NUMERICHOST)
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def clock(app) -> Clock:
    clock = Clock(dt.datetime.now(dt.UTC).replace(microsecond=0))
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def world(app, session):
    paisley, aberdeen = suite(session, "PAI"), suite(session, "ABD-KB")
    trust, other = make_organisation(session, "Recovery Trust"), make_organisation(session)
    service = make_service(session, organisation=trust, name="Trust Paisley")
    west, west_token = make_api_client(session, Role.CUSTODY, suites=[paisley])
    north, _ = make_api_client(session, Role.CUSTODY, suites=[aberdeen])
    trust_system, trust_token = make_api_client(session, Role.PROVIDER, organisation=trust)
    other_system, _ = make_api_client(session, Role.PROVIDER, organisation=other)
    make_user(session, Role.PROVIDER, email="worker@trust.example", organisation=trust)
    session.commit()
    receivers = {}
    with app.test_request_context():
        for name, system in (
            ("west", west),
            ("north", north),
            ("trust", trust_system),
            ("other", other_system),
        ):
            receiver = Receiver()
            system = session.get(ApiClient, system.id)
            receiver.secret = set_address(session, system, receiver.url).secret
            receivers[name] = receiver
        session.commit()
    yield {
        "service": service,
        "west_token": west_token,
        "trust_token": trust_token,
        "trust_system": trust_system,
        "receivers": receivers,
    }
    for receiver in receivers.values():
        receiver.stop()


def send(app) -> object:
    """One pass of the sender, as ``flask send-notifications`` makes."""
    with app.app_context():
        try:
            return deliver_due(db.session, LogBackend(), Policy.from_config(app.config))
        finally:
            db.session.remove()


def webhook_rows(session) -> list[Notification]:
    session.expire_all()
    return list(
        session.scalars(
            sa.select(Notification)
            .where(Notification.kind == Kind.WEBHOOK)
            .order_by(Notification.id)
        )
    )


def make_and_accept(client, world, n: int = 1) -> dict:
    body = new_referral(world, custody_record_number=f"PAI/26/{n:06d}")
    made = client.post("/api/v1/referrals", json=body, headers=bearer(world["west_token"]))
    assert made.status_code == 201, made.get_json()
    key = made.get_json()["id"]
    accepted = client.post(
        f"/api/v1/referrals/{key}/events",
        json={"action": "accept", "version": made.get_json()["version"]},
        headers=bearer(world["trust_token"]),
    )
    assert accepted.status_code == 201, accepted.get_json()
    return accepted.get_json()


def test_status_changes_reach_the_systems_in_scope_signed_and_without_personal_details(
    app, client, session, world, clock
):
    for receiver in world["receivers"].values():
        receiver.start()
    referral = make_and_accept(client, world)
    # Written with each change: one row per system with the referral in its scope.
    rows = webhook_rows(session)
    assert len(rows) == 4 and {r.status for r in rows} == {Status.PENDING}
    send(app)
    assert {r.status for r in webhook_rows(session)} == {Status.SENT}
    west, trust = world["receivers"]["west"], world["receivers"]["trust"]
    assert not world["receivers"]["north"].received and not world["receivers"]["other"].received
    for receiver in (west, trust):
        assert [r.event["referral"]["status"] for r in receiver.received] == ["made", "accepted"]
        assert all(r.genuine for r in receiver.received), "the signature must verify"
        assert [r.event["referral"]["version"] for r in receiver.received] == [1, 2]
    last = trust.received[-1]
    assert last.path == "/hooks/referrals"
    assert last.headers["Content-Type"] == "application/json"
    assert last.headers["Referrals-Event-Id"] == last.event["id"]
    event = last.event
    assert event["type"] == "referral.status_changed"
    assert event["referral"]["id"] == referral["id"]
    assert event["referral"]["reference"] == referral["reference"]
    assert event["referral"]["version"] == referral["version"]
    assert event["referral"]["link"].endswith(f"/api/v1/referrals/{referral['id']}")
    assert event["referral"]["fhir"].endswith(f"/api/v1/referrals/{referral['id']}/fhir")
    assert dt.datetime.fromisoformat(event["occurred_at"]) <= dt.datetime.now(dt.UTC)
    assert set(event) == {"id", "type", "occurred_at", "referral"}
    everything = b"".join(r.body for r in [*west.received, *trust.received])
    for personal in ("Sam Example", "07700", "PAI/26/", "PA1", "afternoons", "25_34"):
        assert personal.encode() not in everything
    ids = [r.event["id"] for r in [*west.received, *trust.received]]
    assert len(set(ids)) == 4
    # Another system's secret does not verify the post.
    assert not verify(
        west.secret,
        last.headers["Referrals-Timestamp"],
        last.headers["Referrals-Signature"],
        last.body,
        time.time(),
    )
    send(app)
    assert len(west.received) == len(trust.received) == 2  # nothing sent twice


def test_changes_made_on_the_pages_and_an_undo_are_posted_too(app, client, session, world):
    made = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=bearer(world["west_token"])
    ).get_json()
    referral_id = session.scalar(
        sa.select(Referral.id).where(Referral.reference == made["reference"])
    )
    sign_in(client, "worker@trust.example")
    accepted = client.post(f"/referrals/{referral_id}/accept", data={"accept-version": "1"})
    assert accepted.status_code == 302
    undone = client.post(f"/referrals/{referral_id}/undo", data={"version": "2"})
    assert undone.status_code == 302
    trust = world["trust_system"].id
    events = [json.loads(r.payload) for r in webhook_rows(session) if r.api_client_id == trust]
    assert [(e["referral"]["status"], e["referral"]["version"]) for e in events] == [
        ("made", 1),
        ("accepted", 2),
        ("made", 3),
    ]


def test_a_referral_made_on_the_custody_page_is_posted_while_a_system_listens(
    app, client, session, world
):
    """The custody page's save learns whether any system listens from its look-up of the
    service; what it learnt lasts only for that transaction."""
    make_user(
        session, Role.CUSTODY, email="officer@west.example", custody_suite=suite(session, "PAI")
    )
    session.commit()
    sign_in(client, "officer@west.example")

    def make(ref: str) -> list[int]:
        before = {row.id for row in webhook_rows(session)}
        form = referral_form(world["service"].id, person_ref=ref, csrf_token=None)
        assert client.post("/referrals/new", data=form).status_code == 302
        session.expire_all()
        return sorted(r.api_client_id for r in webhook_rows(session) if r.id not in before)

    west = session.scalar(
        sa.select(ApiClient.id).where(ApiClient.role == Role.CUSTODY).order_by(ApiClient.id)
    )
    trust = world["trust_system"].id
    assert make("PAI/26/000001") == sorted([west, trust])
    with app.test_request_context():
        for system in session.scalars(sa.select(ApiClient)):
            remove(session, system)
        session.commit()
    assert make("PAI/26/000002") == []
    with app.test_request_context():
        set_address(session, session.get(ApiClient, trust), world["receivers"]["trust"].url)
        session.commit()
    assert make("PAI/26/000003") == [trust]


def test_what_a_save_learnt_of_listening_systems_ends_with_its_transaction(session, world):
    officer = make_user(session, Role.CUSTODY, custody_suite=suite(session, "PAI"))
    session.commit()
    session.execute(sa.select(1))
    remember(session, False)  # as a look-up made before the addresses were set would
    session.commit()  # ends the transaction: the next flush asks again
    before = len(webhook_rows(session))
    make_referral(session, service=world["service"], referrer=officer)
    session.commit()
    assert len(webhook_rows(session)) == before + 2  # the suite's system and the service's


def test_a_change_that_fails_writes_no_event(app, client, session, world):
    made = client.post(
        "/api/v1/referrals", json=new_referral(world), headers=bearer(world["west_token"])
    ).get_json()
    stale = client.post(
        f"/api/v1/referrals/{made['id']}/events",
        json={"action": "accept", "version": made["version"] + 5},
        headers=bearer(world["trust_token"]),
    )
    assert stale.status_code == 409
    assert [json.loads(r.payload)["referral"]["status"] for r in webhook_rows(session)] == [
        "made",
        "made",
    ]


def test_system_down_then_up_loses_nothing_and_sends_nothing_twice(
    app, client, session, world, clock
):
    app.config.update(NOTIFY_RETRY_SECONDS=60, NOTIFY_RETRY_MAX_SECONDS=600)
    west, trust = world["receivers"]["west"], world["receivers"]["trust"]
    trust.start()
    for n in range(3):
        make_and_accept(client, world, n)
    # The custody system is down: its six events wait, tried once for all of them (a
    # system that does not answer costs a pass one wait); the provider's arrive.
    send(app)
    assert len(trust.delivered) == 6
    waiting = [r for r in webhook_rows(session) if r.status == Status.PENDING]
    assert len(waiting) == 6 and "Could not reach" in waiting[0].last_error
    assert all("an earlier event to this system" in r.last_error for r in waiting[1:])
    assert len({r.next_attempt_at for r in waiting}) == 1
    clock.advance(seconds=30)
    send(app)
    assert [r.attempts for r in webhook_rows(session) if r.status == Status.PENDING] == [
        1,
        0,
        0,
        0,
        0,
        0,
    ]
    # It comes back answering 503 for a while: still waiting, with what it said.
    west.status = 503
    west.start()
    clock.advance(minutes=2)
    send(app)
    waiting = [r for r in webhook_rows(session) if r.status == Status.PENDING]
    assert len(waiting) == 6 and "answered 503" in waiting[0].last_error
    west.status = 200
    clock.advance(minutes=5)
    send(app)
    clock.advance(hours=2)
    send(app)
    accepted = west.delivered
    assert len(accepted) == 6 and len({r.event["id"] for r in accepted}) == 6
    assert all(r.genuine for r in accepted)
    # Every attempt at one event carried the same event id and body.
    by_id: dict[str, set] = {}
    for attempt in west.received:
        by_id.setdefault(attempt.event["id"], set()).add(attempt.body)
    assert len(by_id) == 6 and all(len(bodies) == 1 for bodies in by_id.values())
    assert len(trust.delivered) == 6
    assert {r.status for r in webhook_rows(session)} == {Status.SENT}


def test_failed_events_are_shown_to_admins_who_can_send_them_again(
    app, client, session, world, clock
):
    trust = world["receivers"]["trust"]
    trust.status = 410  # the system says the address is gone: failed at once
    trust.start()
    world["receivers"]["west"].start()
    make_and_accept(client, world)
    send(app)
    assert len([r for r in webhook_rows(session) if r.status == Status.FAILED]) == 2
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    outbox = client.get("/admin/outbox").get_data(as_text=True)
    assert "(webhook)" in outbox and "answered 410" in outbox
    failed = [r for r in webhook_rows(session) if r.status == Status.FAILED]
    page = client.get(f"/admin/api-clients/{world['trust_system'].id}/webhook")
    assert "answered 410" in page.get_data(as_text=True)
    trust.status = 200
    client.post("/admin/outbox/retry", data={"id": [str(r.id) for r in failed]})
    send(app)
    assert [r.event["referral"]["status"] for r in trust.delivered] == ["made", "accepted"]
    assert {r.status for r in webhook_rows(session)} == {Status.SENT}


def test_an_admin_sets_the_address_and_sees_the_secret_once(app, client, session):
    admin = make_user(session, Role.ADMIN)
    system, _ = make_api_client(session, Role.PROVIDER, organisation=make_organisation(session))
    reports, _ = make_api_client(session, Role.LEAD)
    session.commit()
    sign_in(client, admin.email)
    url = f"/admin/api-clients/{system.id}/webhook"
    assert client.get(url).status_code == 200
    refused = client.post(url, data={"url": "http://cases.example.org/hooks"})
    assert refused.status_code == 400
    assert "must start with https://" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(ApiClient, system.id).webhook_url is None
    done = client.post(url, data={"url": "https://cases.example.org/hooks"})
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    secret = re.search(r'<textarea id="secret"[^>]*>(whsec_[^<]+)</textarea>', html).group(1)
    session.expire_all()
    stored = session.get(ApiClient, system.id)
    assert stored.webhook_url == "https://cases.example.org/hooks"
    assert stored.webhook_secret == secret
    raw = str(session.execute(sa.text("SELECT webhook_secret FROM api_clients")).all())
    assert secret not in raw  # kept encrypted
    assert secret not in client.get(url).get_data(as_text=True)
    # Changing the address keeps the secret; a new secret is shown once and replaces it.
    moved = client.post(url, data={"url": "https://cases.example.org/v2/hooks"})
    assert moved.status_code == 302
    fresh = client.post(f"{url}/secret").get_data(as_text=True)
    new = re.search(r'<textarea id="secret"[^>]*>(whsec_[^<]+)</textarea>', fresh).group(1)
    session.expire_all()
    assert new != secret and session.get(ApiClient, system.id).webhook_secret == new
    # Stopping needs the box ticked.
    client.post(f"{url}/remove", data={})
    session.expire_all()
    assert session.get(ApiClient, system.id).webhook_url is not None
    client.post(f"{url}/remove", data={"confirm": "y"})
    session.expire_all()
    assert session.get(ApiClient, system.id).webhook_url is None
    # A reports system has no referrals to hear about.
    no = client.post(f"/admin/api-clients/{reports.id}/webhook", data={"url": "https://x.example"})
    assert no.status_code == 400 and "reads published figures only" in no.get_data(as_text=True)


@pytest.mark.parametrize(
    ("raw", "loopback", "problem"),
    [
        ("https://cases.example.org/hooks?x=1", False, None),
        ("http://127.0.0.1:8080/hooks", True, None),
        ("http://[::1]:8080/hooks", True, None),
        ("http://127.0.0.1:8080/hooks", False, "https://"),
        ("http://cases.example.org/hooks", True, "https://"),
        ("ftp://cases.example.org/", False, "https://"),
        ("https://user:pw@cases.example.org/", False, "password"),
        ("https://cases.example.org:99999/", False, "not a web address"),
        ("", False, "Enter the address"),
        ("https://cases example.org/", False, "spaces"),
    ],
)
def test_which_addresses_may_be_registered(raw, loopback, problem):
    if problem is None:
        assert checked_url(raw, allow_http_loopback=loopback) == raw
    else:
        with pytest.raises(AddressProblem, match=problem):
            checked_url(raw, allow_http_loopback=loopback)


def test_a_signature_verifies_only_the_same_body_secret_and_a_fresh_time():
    body, now = b'{"id":"e1"}', 1_800_000_000
    header = signature("whsec_a", now, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify("whsec_a", str(now), header, body, now + 10)
    assert not verify("whsec_a", str(now), header, body + b" ", now)
    assert not verify("whsec_b", str(now), header, body, now)
    assert not verify("whsec_a", str(now + 1), header, body, now)
    assert not verify("whsec_a", str(now), header, body, now + 301)  # replayed later
    assert not verify("whsec_a", "soon", header, body, now)


def test_the_command_line_sets_the_address_and_prints_the_secret(runner, session):
    system, _ = make_api_client(session, Role.PROVIDER, organisation=make_organisation(session))
    session.commit()
    refused = runner.invoke(
        args=["set-webhook", "--client", system.name, "--url", "http://cases.example.org/"]
    )
    assert refused.exit_code != 0 and "https://" in refused.output
    done = runner.invoke(
        args=["set-webhook", "--client", str(system.uuid), "--url", "https://c.example/h"]
    )
    assert done.exit_code == 0, done.output
    secret = done.output.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    session.expire_all()
    assert session.get(ApiClient, system.id).webhook_secret == secret
    stopped = runner.invoke(args=["set-webhook", "--client", system.name, "--remove"])
    assert stopped.exit_code == 0 and "no more events" in stopped.output


def test_a_system_answering_with_a_huge_slow_body_holds_the_sender_no_time(
    app, client, session, world, clock
):
    """Only the answer's status is read: a body dribbled out a byte at a time, a
    gigabyte long, neither keeps the sender nor fills its memory."""
    app.config["WEBHOOK_TIMEOUT"] = 1.0
    for receiver in world["receivers"].values():
        receiver.slow_body = True
        receiver.start()
    make_and_accept(client, world)
    started = time.monotonic()
    send(app)
    assert time.monotonic() - started < 5
    assert {r.status for r in webhook_rows(session)} == {Status.SENT}


def test_a_system_trickling_its_answers_headers_is_given_up_on_at_the_deadline(
    app, client, session, world, clock
):
    """Each byte comes within the timeout, so only a deadline on the whole post stops a
    system holding the sender (and every email behind it) for as long as it likes."""
    app.config.update(WEBHOOK_TIMEOUT=1.0, WEBHOOK_DEADLINE=2.0)
    world["receivers"]["west"].slow_headers = True
    world["receivers"]["west"].start()
    trust = world["receivers"]["trust"].start()
    make_and_accept(client, world)
    started = time.monotonic()
    send(app)
    assert time.monotonic() - started < 5
    assert len(trust.delivered) == 2
    waiting = [r for r in webhook_rows(session) if r.status == Status.PENDING]
    assert len(waiting) == 2
    assert any("did not answer within 2 seconds" in (r.last_error or "") for r in waiting)


def test_a_system_trickling_its_answer_keeps_no_connection_open_after_the_deadline(
    app, client, session, world, clock
):
    """Giving up at the deadline hangs up too: no thread is left reading the trickle
    (one byte each 0.1 s, well within the timeout) for as long as the system likes."""
    app.config.update(WEBHOOK_TIMEOUT=1.0, WEBHOOK_DEADLINE=1.0)
    west = world["receivers"]["west"]
    west.slow_headers = True
    west.start()
    world["receivers"]["trust"].start()
    make_and_accept(client, world)
    send(app)
    assert len(west.received) == 1
    time.sleep(0.5)
    assert [t for t in threading.enumerate() if t.name == "webhook-post"] == []


def test_an_event_queued_before_a_systems_scope_changed_is_not_sent_to_it(
    app, client, session, world, clock
):
    """An administrator moved the custody system to other suites: events waiting for it
    about its former suite's referrals are not sent."""
    west = world["receivers"]["west"].start()
    world["receivers"]["trust"].start()
    make_and_accept(client, world)
    system = session.scalar(sa.select(ApiClient).where(ApiClient.webhook_url == west.url))
    system.suites = [suite(session, "ABD-KB")]
    session.commit()
    send(app)
    assert west.received == []
    assert len(world["receivers"]["trust"].delivered) == 2
    mine = [r for r in webhook_rows(session) if r.api_client_id == system.id]
    assert mine and all(r.status == Status.CANCELLED for r in mine)
    assert all("no longer covers this referral" in r.last_error for r in mine)


def test_a_system_that_never_answers_costs_a_pass_one_wait_not_one_per_event(
    app, client, session, world, clock
):
    """It takes the connection and says nothing: its first event waits out the timeout,
    its others wait with it, and the provider's events are not held behind them."""
    import socket

    app.config["WEBHOOK_TIMEOUT"] = 1.0
    hung = socket.socket()
    hung.bind(("127.0.0.1", world["receivers"]["west"].port))
    hung.listen(32)  # the system's address takes connections and never answers
    trust = world["receivers"]["trust"].start()
    try:
        for n in range(4):
            make_and_accept(client, world, n)
        started = time.monotonic()
        send(app)
        took = time.monotonic() - started
    finally:
        hung.close()
    assert took < 4, took  # one timeout of 1 s, not eight
    assert len(trust.delivered) == 8
    waiting = [r for r in webhook_rows(session) if r.status == Status.PENDING]
    assert len(waiting) == 8 and sum(r.attempts for r in waiting) == 1


def test_an_event_made_while_older_ones_wait_to_be_retried_is_posted_after_them(
    app, client, session, world, clock
):
    """The provider's system was down for the first pass: the referral is closed while
    its earlier events wait to be tried again, and the system hears of them in order."""
    app.config.update(NOTIFY_RETRY_SECONDS=60)
    trust = world["receivers"]["trust"]
    accepted = make_and_accept(client, world)
    send(app)  # 'made' and 'accepted' wait a minute
    trust.start()
    clock.advance(seconds=10)
    closed = client.post(
        f"/api/v1/referrals/{accepted['id']}/events",
        json={"action": "close", "version": accepted["version"], "reason": "not_contactable"},
        headers=bearer(world["trust_token"]),
    )
    assert closed.status_code == 201, closed.get_json()
    send(app)
    assert trust.delivered == []
    [waiting] = [
        r
        for r in webhook_rows(session)
        if r.api_client_id == world["trust_system"].id and '"closed"' in r.payload
    ]
    assert waiting.attempts == 0 and "earlier event" in waiting.last_error
    clock.advance(seconds=61)
    send(app)
    assert [r.event["referral"]["status"] for r in trust.delivered] == [
        "made",
        "accepted",
        "closed",
    ]


def test_web_requests_can_write_while_the_sender_waits_for_a_system(
    app, client, session, world, clock, monkeypatch
):
    from referrals.webhooks import delivery

    from .test_notifications import WritingBackend, sqlite_path

    probe = WritingBackend(sqlite_path(app))

    def post(url, body, headers, **options):
        probe.send(type("Message", (), {"reference": "-"}))
        return 200

    monkeypatch.setattr(delivery.posting, "post", post)
    make_and_accept(client, world)
    send(app)
    assert probe.writes == ["written"] * 4
    assert {r.status for r in webhook_rows(session)} == {Status.SENT}


def test_an_event_waits_while_another_sender_has_an_older_one_in_hand(
    app, client, session, world, clock
):
    """Two senders share the outbox: one is posting a system's first event when the
    other comes to the second. It waits a retry interval (not spinning in its pass) and
    goes once the first is through."""
    app.config.update(NOTIFY_RETRY_SECONDS=60)
    trust = world["receivers"]["trust"].start()
    world["receivers"]["west"].start()
    make_and_accept(client, world)
    mine = [r for r in webhook_rows(session) if r.api_client_id == world["trust_system"].id]
    first, second = mine
    first.claim_token, first.claimed_until = "other sender", clock.at + dt.timedelta(minutes=10)
    session.commit()
    tally = send(app)
    assert trust.delivered == [] and tally.retrying == 1
    second = session.get(Notification, second.id)
    assert second.status == Status.PENDING and second.attempts == 0
    assert second.next_attempt_at == clock.at + dt.timedelta(seconds=60)
    first.status, first.claim_token, first.claimed_until = Status.SENT, None, None
    session.commit()  # the other sender posted it
    clock.advance(seconds=61)
    send(app)
    assert [r.event["referral"]["status"] for r in trust.delivered] == ["accepted"]


def test_events_waiting_when_a_system_is_stopped_never_reach_its_next_address(
    app, client, session, world, clock
):
    """ "Stop events" says events not yet delivered will not be sent: they are cancelled
    at once, so an address set again later does not receive them."""
    make_and_accept(client, world)  # "made" and "accepted", waiting for the trust's system
    trust = world["trust_system"].id
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    admin = app.test_client()
    sign_in(admin, "admin@t.example")
    stopped = admin.post(f"/admin/api-clients/{trust}/webhook/remove", data={"confirm": "y"})
    assert stopped.status_code == 302
    session.expire_all()
    waiting = [r for r in webhook_rows(session) if r.api_client_id == trust]
    assert waiting and {r.status for r in waiting} == {Status.CANCELLED}
    assert all("stopped" in r.last_error for r in waiting)
    new = Receiver().start()
    try:
        assert (
            admin.post(f"/admin/api-clients/{trust}/webhook", data={"url": new.url}).status_code
            == 200
        )
        send(app)
        assert new.received == []
    finally:
        new.stop()
