"""Delivery backends: the log (development), SMTP with STARTTLS, and GOV.UK Notify.

Each ``send`` returns the backend's id for the message, or raises ``DeliveryError``:
``permanent`` when trying again cannot help (the address or the message was refused),
otherwise the sender tries again later. Every attempt for one outbox row carries the
same reference (the SMTP Message-ID, Notify's ``reference``), so a repeat can be told
from a new message by whoever looks (few inboxes, and not Notify, drop it themselves).
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Protocol

import requests
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from .messages import Message

log = logging.getLogger("referrals.notifications")


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class Backend(Protocol):
    name: str

    def send(self, message: Message) -> str: ...


class LogBackend:
    """Prints each message to the sender's log instead of sending it (development)."""

    name = "log"

    def send(self, message: Message) -> str:
        log.info(
            "Message %s to %s\nSubject: %s\n\n%s",
            message.reference,
            message.to,
            message.subject,
            message.body,
        )
        return f"log:{message.reference}"


class SmtpBackend:
    name = "smtp"

    def __init__(self, config: dict[str, Any]):
        self.host = config["SMTP_HOST"]
        self.port = config["SMTP_PORT"]
        self.username = config["SMTP_USERNAME"]
        self.password = config["SMTP_PASSWORD"]
        self.starttls = config["SMTP_STARTTLS"]
        self.ca_file = config["SMTP_CA_FILE"] or None
        self.timeout = config["SMTP_TIMEOUT"]
        self.deadline = config.get("SMTP_DEADLINE", 60.0)
        self.sender = config["MAIL_FROM"]
        self.domain = (parseaddr(self.sender)[1].rpartition("@")[2] or "localhost").strip(">")

    def _email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(localtime=False, usegmt=True)
        email["Message-ID"] = f"<{message.reference}@{self.domain}>"
        email.set_content(message.body)
        return email

    def send(self, message: Message) -> str:
        """Send within ``SMTP_DEADLINE`` seconds in all. ``SMTP_TIMEOUT`` bounds each wait
        for the server, so a server answering a byte at a time could otherwise hold the
        sender past its claim on the row (another sender would then send it again) and
        hold every message behind it: at the deadline the connection is cut."""
        email = self._email(message)
        smtp = smtplib.SMTP(timeout=self.timeout)  # connected below, under the deadline
        smtp._host = self.host  # the name STARTTLS checks the certificate against
        cut = threading.Event()
        timer = threading.Timer(self.deadline, _cut_off, (smtp, cut))
        timer.daemon = True
        timer.start()
        step = "connect"  # what the conversation was doing, should it fail
        try:
            try:
                smtp.connect(self.host, self.port)
                if self.starttls:
                    step = "starttls"
                    smtp.starttls(context=ssl.create_default_context(cafile=self.ca_file))
                if self.username:
                    step = "login"
                    smtp.login(self.username, self.password)
                step = "send"
                smtp.send_message(email)
            finally:
                timer.cancel()
                _say_goodbye(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            if cut.is_set():
                raise DeliveryError(
                    f"The mail server did not finish within {self.deadline:g} seconds."
                ) from exc
            raise _refusal(exc, step) from exc
        return email["Message-ID"]


def _cut_off(smtp: smtplib.SMTP, cut: threading.Event) -> None:
    """End a conversation past its deadline: whatever waits on the socket returns."""
    cut.set()
    sock = getattr(smtp, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _refusal(exc: Exception, step: str) -> DeliveryError:
    """What an SMTP failure at ``step`` (connect, starttls, login or send) means for the
    message: permanent when the server refused the address or the message for good,
    otherwise worth trying again."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return DeliveryError(
            f"The mail server refused the address ({', '.join(map(str, codes))}).",
            permanent=all(code >= 500 for code in codes),
        )
    if isinstance(exc, smtplib.SMTPDataError):
        return DeliveryError(
            f"The mail server refused the message ({exc.smtp_code}).",
            permanent=exc.smtp_code >= 500,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # the server lacks an extension
        if step == "starttls":
            return DeliveryError(
                "The mail server does not offer STARTTLS; the message was not sent unencrypted."
            )
        if step == "login":
            return DeliveryError(
                "The mail server does not offer to sign in (SMTP AUTH), "
                "yet SMTP_USERNAME is set; the message was not sent."
            )
        # Sending: an address (the recipient's, or MAIL_FROM) has letters outside A-Z,
        # which only a server offering SMTPUTF8 takes; trying again cannot help.
        return DeliveryError(
            "The mail server cannot take an address with letters outside A-Z "
            "(it does not offer SMTPUTF8); the message was not sent.",
            permanent=True,
        )
    return DeliveryError(f"Could not reach the mail server: {exc}")  # refused, timed out, TLS


def _say_goodbye(smtp: smtplib.SMTP) -> None:
    """QUIT, ignoring any answer: once the server has taken the message it is delivered,
    and a server that then fails to say goodbye (421, shutting down) must not have it
    sent again."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class NotifyBackend:
    """GOV.UK Notify: one template per kind (``NOTIFY_TEMPLATE_<KIND>``), or one
    ``NOTIFY_TEMPLATE_DEFAULT`` template whose subject is ((subject)) and body ((body))."""

    name = "notify"

    def __init__(self, config: dict[str, Any]):
        if not config["NOTIFY_API_KEY"]:
            raise ValueError("NOTIFICATIONS_BACKEND=notify needs NOTIFY_API_KEY.")
        self.client = NotificationsAPIClient(
            config["NOTIFY_API_KEY"], base_url=config["NOTIFY_BASE_URL"], timeout=20
        )
        self.templates = config["NOTIFY_TEMPLATES"]
        self.reply_to = config["NOTIFY_REPLY_TO_ID"] or None

    def template_for(self, kind: str) -> str:
        template = self.templates.get(f"NOTIFY_TEMPLATE_{kind.upper()}") or self.templates.get(
            "NOTIFY_TEMPLATE_DEFAULT"
        )
        if not template:
            raise DeliveryError(
                f"No GOV.UK Notify template for {kind} messages: set "
                f"NOTIFY_TEMPLATE_{kind.upper()} or NOTIFY_TEMPLATE_DEFAULT, then retry.",
                permanent=True,
            )
        return template

    def send(self, message: Message) -> str:
        template = self.template_for(message.kind)
        try:
            response = self.client.send_email_notification(
                email_address=message.to,
                template_id=template,
                personalisation=message.personalisation,
                reference=message.reference,
                email_reply_to_id=self.reply_to,
            )
        except APIError as exc:
            # 400: Notify refused this message (bad address, template); others may pass later.
            raise DeliveryError(
                f"GOV.UK Notify answered {exc.status_code}: {exc.message}",
                permanent=exc.status_code == 400,
            ) from exc
        except requests.RequestException as exc:
            raise DeliveryError(f"Could not reach GOV.UK Notify: {exc}") from exc
        return str(response.get("id", ""))


def backend_from_config(config: dict[str, Any]) -> Backend:
    name = config["NOTIFICATIONS_BACKEND"]
    if name == "smtp":
        return SmtpBackend(config)
    if name == "notify":
        return NotifyBackend(config)
    return LogBackend()
