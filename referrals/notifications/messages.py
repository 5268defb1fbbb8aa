"""What each outbox row says, and to whom, worked out when it is sent.

The words are in ``templates/notifications/messages/<kind>.txt`` (first line: the
subject). Every message names a referral by its reference, or a period, and links to
a page that needs signing in; nothing about the person is ever put in a message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy.orm import Session

from ..choices import CloseReason
from ..models import Service, User
from ..templating import format_date
from ..workdays import respond_by
from .kinds import INBOX_KINDS, OPTIONAL_KINDS, Kind
from .models import Notification, NotificationPreference
from .recipients import can_see, inbox, is_person, on_staff, staff


@dataclass(frozen=True)
class Message:
    notification_id: int
    kind: str
    to: str
    subject: str
    body: str
    personalisation: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """The same for every attempt, so a receiver can drop a repeat delivery."""
        return f"notification-{self.notification_id}"


FOOTER = (
    "This message was sent by Referral Pathways and holds no personal details. "
    "Choose which messages you get under Settings once signed in."
)


class NotSent(Exception):
    """The message should not be sent after all; the text says why (shown to admins)."""


class NoOneToTell(Exception):
    """A message the service must have has nobody to go to: kept as failed, with why,
    for administrators to put right and send again (at /admin/outbox)."""


class SplitPerStaff(Exception):
    """The row is for an organisation without an inbox: one message per member of staff."""

    def __init__(self, users: list[User]):
        super().__init__(f"{len(users)} members of staff")
        self.users = users


def external_url(endpoint: str, **values) -> str:
    """An absolute link to a page of this app, from ``BASE_URL`` (no request needed)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def wants(session: Session, user: User, kind: Kind) -> bool:
    """Whether ``user`` still wants messages of ``kind``: on unless they turned it off
    (only the kinds their role may turn off can be)."""
    if kind not in OPTIONAL_KINDS.get(user.role, ()):
        return True
    choice = session.get(NotificationPreference, (user.id, kind))
    return choice is None or choice.enabled


def recipient(session: Session, row: Notification) -> str:
    """The address to send ``row`` to, worked out now (see ``recipients``), or raise
    ``NotSent``, ``NoOneToTell`` or ``SplitPerStaff``."""
    if row.user_id is not None:
        return _person(session, row)
    if row.kind in INBOX_KINDS and row.referral_id is not None:
        return _service_inbox(session, row.referral.service)
    if row.address:
        return row.address
    raise NotSent("The message has no recipient.")


def _person(session: Session, row: Notification) -> str:
    user = row.user
    if not user.active:
        raise NotSent("The account is deactivated.")
    if not is_person(session, user):
        raise NotSent(
            "The account is a registered system's (API client): it hears of changes by "
            "webhook, not by email."
        )
    if row.referral_id is not None and not can_see(session, user, row.referral_id):
        raise NotSent(
            "The person can no longer see this referral (their custody suite, organisation "
            "or role changed)."
        )
    if row.organisation_id is not None and not on_staff(user, row.organisation_id):
        raise NotSent("The person no longer works for the organisation.")
    if not wants(session, user, row.kind):
        raise NotSent("The person turned these messages off.")
    return user.email


def _service_inbox(session: Session, service: Service) -> str:
    address = inbox(service)
    if address:
        return address
    organisation = service.organisation
    members = list(session.scalars(staff([organisation.id])))
    if not members:
        raise NoOneToTell(
            f"{organisation.name} has no referral inbox and no active staff: set a "
            "referral inbox on its services or on the organisation, then send it again."
        )
    raise SplitPerStaff(members)


def _referral_context(row: Notification, payload: dict) -> dict:
    referral = row.referral
    reason = payload.get("reason")
    days = current_app.config["OVERDUE_WORKING_DAYS"]
    return {
        "reference": referral.reference,
        "service": referral.service.name,
        "link": external_url("tracking.referral_detail", referral_id=referral.id),
        "respond_by": format_date(respond_by(referral.referred_on, days)),
        "working_days": days,
        "urgent": bool(payload.get("urgent")),
        # Whether it was passed on; never why else it closed (a death, a prison sentence:
        # personal details, which no message carries).
        "referred_on": reason == CloseReason.REFERRED_ON,
        # Whose role made the change (messages written before it was recorded: none, and
        # they read as the service's): a custody colleague or an administrator closing a
        # referral as entered in error is not the service's decision.
        "by": payload.get("by"),
        # A referral passed on by mistake and taken back at once (``withdraw_new_referral``).
        "taken_back": bool(payload.get("taken_back")),
        # A referral reopened after the service was told to stop (``announce_reopened``).
        "reopened": bool(payload.get("reopened")),
        "suite": referral.custody_suite.name,
    }


def _digest_context(row: Notification, payload: dict) -> dict:
    links = {
        Kind.OVERDUE_DIGEST: external_url("tracking.worklist") + "#overdue",
        Kind.STALE_LISTINGS: external_url("directory.my_listings"),
        Kind.WEEKLY_SUMMARY: external_url("reports.dashboard"),
    }
    context = dict(payload)
    context["link"] = links[row.kind]
    context.setdefault("items", [])
    context["stale_days"] = current_app.config["STALE_AFTER_DAYS"]
    # The overdue digest carries the number its list was drawn up with (older rows not).
    context.setdefault("working_days", current_app.config["OVERDUE_WORKING_DAYS"])
    return context


def compose(session: Session, row: Notification) -> Message:
    """The message ``row`` stands for (raises ``NotSent`` or ``SplitPerStaff``)."""
    to = recipient(session, row)
    payload = json.loads(row.payload or "{}")
    if row.referral_id is not None:
        context = _referral_context(row, payload)
    else:
        context = _digest_context(row, payload)
    text = render_template(f"notifications/messages/{row.kind.value}.txt", **context)
    subject, _, body = text.strip().partition("\n")
    body = f"{body.strip()}\n\n{FOOTER}\n"
    personalisation = {
        "subject": subject.strip(),
        "body": body,
        "link": context["link"],
        "reference": str(context.get("reference", "")),
    }
    return Message(row.id, row.kind.value, to, subject.strip(), body, personalisation)
