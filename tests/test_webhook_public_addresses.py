"""Webhook addresses lead to the public internet only: never to this machine, a private
network or a cloud metadata service, whether written as an IP address (in any spelling)
or as a name, when the address is saved and again when each event is sent. What the
sender records of a failure says what went wrong in general words, which tell nobody
which ports are open. No test here touches the network: names resolve through
``names`` (from ``test_webhooks``)."""

from __future__ import annotations

import contextlib
import socket
import threading

import pytest
import sqlalchemy as sa

from referrals.api.models import ApiClient
from referrals.choices import Role
from referrals.extensions import db
from referrals.models import Service
from referrals.notifications.kinds import Status
from referrals.webhooks.addresses import AddressProblem, checked_url
from referrals.webhooks.registration import set_address

from . import test_webhooks
from .factories import (
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .mailservers import free_port
from .test_webhooks import make_and_accept, send, webhook_rows

# The webhook tests' fixtures: their systems and receivers, their clock, their resolver.
world, clock, names = test_webhooks.world, test_webhooks.clock, test_webhooks.names


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("https://127.0.0.1:5432/", "127.0.0.1 is this machine"),
        ("https://[::1]:6379/", "::1 is this machine"),
        ("https://0x7f000001/", "0x7f000001 is 127.0.0.1, this machine"),
        ("https://2130706433/", "2130706433 is 127.0.0.1, this machine"),
        ("https://127.1/", "127.1 is 127.0.0.1, this machine"),
        ("https://[::ffff:127.0.0.1]/", "this machine"),
        ("https://[64:ff9b::7f00:1]/", "this machine"),  # NAT64
        ("https://[64:ff9b::a00:5]/", "private network"),
        ("https://[2002:7f00:1::]/", "this machine"),  # 6to4
        ("https://[2002:a9fe:a9fe::]/", "link-local"),
        ("https://0.0.0.0/", "this machine"),
        ("https://localhost/", "localhost leads to 127.0.0.1, this machine"),
        ("https://10.0.0.5/", "10.0.0.5 is a private network"),
        ("https://192.168.1.1/", "private network"),
        ("https://[fd00::1]/", "private network"),
        ("https://100.64.0.1/", "private network"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://metadata.google.internal/", "metadata.google.internal leads to 169.254"),
        ("https://224.0.0.1/", "multicast"),
        ("https://both.example.org/", "both.example.org leads to 10.1.2.3, a private network"),
        ("https://nowhere.example.org/", "No machine called nowhere.example.org"),
    ],
)
def test_addresses_leading_to_this_machine_or_a_private_network_are_refused(names, raw, problem):
    names["metadata.google.internal"] = ["169.254.169.254"]
    names["both.example.org"] = ["93.184.215.14", "10.1.2.3"]
    with pytest.raises(AddressProblem, match=problem):
        checked_url(raw, allow_http_loopback=False)


def test_this_machine_is_allowed_only_where_plain_http_to_it_is(names):
    for raw in ("https://127.0.0.1:8443/", "http://localhost:8080/", "http://[::1]:8080/"):
        assert checked_url(raw, allow_http_loopback=True) == raw
    for raw in ("https://10.0.0.5/", "https://169.254.169.254/", "https://0.0.0.0/"):
        with pytest.raises(AddressProblem, match="public internet"):
            checked_url(raw, allow_http_loopback=True)


def _production_system(app_factory, session):
    """A live app (not testing, not debug, no loopback allowed), a service and the case
    system of the organisation running it."""
    live = app_factory(TESTING=False, DEBUG=False)
    assert not live.config["WEBHOOK_ALLOW_HTTP_LOOPBACK"]
    trust = make_organisation(session, "Recovery Trust")
    service = make_service(session, organisation=trust)
    system, _ = make_api_client(session, Role.PROVIDER, organisation=trust)
    session.commit()
    return live, system.id, service.id


def test_a_live_app_refuses_an_address_on_this_machine_saying_why(app_factory, session):
    live, system, _ = _production_system(app_factory, session)
    with live.test_request_context():
        with pytest.raises(AddressProblem, match="this machine: events go only to"):
            set_address(db.session, db.session.get(ApiClient, system), "https://127.0.0.1:5432/")
        db.session.rollback()
        assert db.session.get(ApiClient, system).webhook_url is None


def test_an_address_whose_name_now_leads_to_this_machine_is_not_sent_to(
    app_factory,
    session,
    names,
):
    """Saved while its name led to a public address; by the time the event is sent the
    name leads here (DNS rebinding): the event fails for good, and nothing is posted."""
    live, system, service = _production_system(app_factory, session)
    port = free_port()
    with live.test_request_context():
        set_address(db.session, db.session.get(ApiClient, system), f"https://c.example:{port}/")
        officer = make_user(db.session, Role.CUSTODY, custody_suite=suite(db.session, "PAI"))
        make_referral(db.session, service=db.session.get(Service, service), referrer=officer)
        db.session.commit()
    names["c.example"] = ["127.0.0.1"]
    send(live)
    [row] = webhook_rows(session)
    assert row.status == Status.FAILED
    assert row.last_error == (
        "Not sent: c.example leads to 127.0.0.1, this machine: events go only to addresses "
        "on the public internet."
    )


class Rebinding(list):
    """A name leading to 127.0.0.1 at its first lookup, and to 127.0.0.2 (where nothing
    listens) at every one after."""

    lookups = 0

    def __iter__(self):
        self.lookups += 1
        return iter(["127.0.0.1" if self.lookups == 1 else "127.0.0.2"])


def test_the_post_goes_to_the_address_checked_not_to_a_second_lookup(
    app,
    client,
    session,
    world,
    clock,
    names,
):
    trust = world["receivers"]["trust"].start()
    names["localhost"] = rebinding = Rebinding()
    with app.test_request_context():
        system = session.get(ApiClient, world["trust_system"].id)
        set_address(session, system, trust.url.replace("127.0.0.1", "localhost"))
        session.commit()
    make_and_accept(client, world)
    rebinding.lookups = 0
    send(app)
    assert len(trust.delivered) == 1
    assert trust.delivered[0].headers["Host"] == f"localhost:{trust.port}"


def test_what_a_failure_records_does_not_tell_an_open_port_from_a_closed_one(
    app,
    client,
    session,
    world,
    clock,
):
    """Behind the tests' allowance for this machine (a live app refuses both addresses),
    a port answering in another protocol and one refusing are each told in general words,
    not in the network library's."""
    listener = socket.create_server(("127.0.0.1", 0))
    open_port, closed_port = listener.getsockname()[1], free_port()

    def banner():
        with contextlib.suppress(OSError):
            while True:
                connection, _ = listener.accept()
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                connection.close()

    threading.Thread(target=banner, daemon=True).start()
    west_url = world["receivers"]["west"].url
    with app.test_request_context():
        west = session.scalar(sa.select(ApiClient).where(ApiClient.webhook_url == west_url))
        trust = session.get(ApiClient, world["trust_system"].id)
        set_address(session, trust, f"https://127.0.0.1:{open_port}/")
        set_address(session, west, f"https://127.0.0.1:{closed_port}/")
        session.commit()
    try:
        make_and_accept(client, world)
        send(app)
    finally:
        listener.close()
    assert {r.last_error for r in webhook_rows(session) if r.attempts} == {
        f"Could not reach https://127.0.0.1:{open_port}/: TLS handshake failed.",
        f"Could not reach https://127.0.0.1:{closed_port}/: could not connect.",
    }


def test_a_public_address_carried_in_ipv6_is_allowed(names):
    for raw in ("https://[64:ff9b::5db8:d70e]/", "https://[2002:5db8:d70e::]/"):
        assert checked_url(raw, allow_http_loopback=False) == raw
