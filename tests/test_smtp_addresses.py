"""Addresses with letters outside A-Z (zoë@…): a mail server takes them only if it offers
SMTPUTF8. Through one that does not, the message fails at once and says so; it is not
tried again, and not blamed on STARTTLS. A server lacking STARTTLS or sign-in (SMTP AUTH)
is named for what it lacks, and the message tried again once the settings are put right."""

from __future__ import annotations

import pytest

from referrals.choices import Role
from referrals.notifications.backends import DeliveryError
from referrals.notifications.kinds import Status
from referrals.notifications.messages import Message

from .factories import make_organisation, make_service, make_user, suite
from .mailservers import Mailbox, SmtpServer
from .test_notifications import Clock, deliver, make_referral_through_the_form, rows, smtp_backend

INBOX = "zoë@harbour.example.org"


@pytest.fixture
def people(app, session):
    app.config["CLOCK"] = Clock()
    service = make_service(
        session,
        organisation=make_organisation(session, "Harbour Recovery"),
        name="Harbour MAT",
        referral_email=INBOX,
    )
    make_user(
        session,
        Role.CUSTODY,
        email="officer@police.example",
        custody_suite=suite(session, "GLA-LR"),
    )
    session.commit()
    return {"service": service}


def sending_through(app, server: SmtpServer) -> SmtpServer:
    app.config.update(
        NOTIFICATIONS_BACKEND="smtp",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        SMTP_STARTTLS=False,
        MAIL_FROM="Referral Pathways <no-reply@referrals.example.org>",
        NOTIFY_MAX_ATTEMPTS=8,
    )
    return server.start()


def test_a_server_without_smtputf8_fails_such_an_address_at_once_and_says_why(
    app, client, session, people
):
    mailbox = Mailbox()
    server = sending_through(app, SmtpServer(mailbox, smtputf8=False))
    try:
        make_referral_through_the_form(client, people)
        deliver(app)
    finally:
        server.stop()
    [row] = rows(session)
    assert (row.address, row.status, row.attempts) == (INBOX, Status.FAILED, 1)
    assert "cannot take an address with letters outside A-Z" in row.last_error
    assert "SMTPUTF8" in row.last_error and "STARTTLS" not in row.last_error
    assert mailbox.messages == []


def test_a_server_offering_smtputf8_is_sent_such_an_address(app, client, session, people):
    mailbox = Mailbox()
    server = sending_through(app, SmtpServer(mailbox))
    try:
        make_referral_through_the_form(client, people)
        deliver(app)
    finally:
        server.stop()
    [row] = rows(session)
    assert row.status == Status.SENT
    assert len(mailbox.to(INBOX)) == 1


def test_a_server_without_starttls_is_still_reported_as_such_and_tried_again():
    server = SmtpServer(Mailbox(), smtputf8=False).start()
    try:
        backend = smtp_backend(server.port, SMTP_STARTTLS=True)
        with pytest.raises(DeliveryError, match="does not offer STARTTLS") as failed:
            backend.send(Message(9, "accepted", INBOX, "Subject", "Body"))
    finally:
        server.stop()
    assert not failed.value.permanent


def test_a_server_without_sign_in_is_reported_as_such_and_tried_again():
    server = SmtpServer(Mailbox()).start()
    try:
        backend = smtp_backend(server.port, SMTP_USERNAME="sender", SMTP_PASSWORD="secret")
        with pytest.raises(
            DeliveryError, match=r"does not offer to sign in \(SMTP AUTH\)"
        ) as failed:
            backend.send(Message(10, "accepted", "officer@police.example", "Subject", "Body"))
    finally:
        server.stop()
    assert not failed.value.permanent
