"""Setting, replacing and removing a system's webhook address and signing secret.

The secret is made when the first address is set and shown once (like the token); an
administrator can issue a new one at any time, and the old one stops signing at once.
Systems that only read reports have no referrals, so no events. Each function checks
everything before changing anything, audits the change, and leaves the commit to the
caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..api.models import ApiClient
from ..audit import record
from ..clock import now_utc
from ..models import User
from ..notifications.kinds import Kind, Status
from ..notifications.models import Notification
from .addresses import AddressProblem, checked_url
from .signing import new_secret


@dataclass(frozen=True)
class NewSecret:
    client: ApiClient
    secret: str  # shown once


def allow_http_loopback() -> bool:
    """Plain HTTP to this machine: in development and tests, or when switched on."""
    app = current_app
    return bool(app.testing or app.debug or app.config.get("WEBHOOK_ALLOW_HTTP_LOOPBACK"))


def _can_listen(client: ApiClient) -> None:
    if not client.active:
        raise AddressProblem("This system's access was revoked: register it again.")
    if client.reports_only:
        raise AddressProblem(
            "A reports system reads published figures only: it has no referrals to hear about."
        )


def _issue(client: ApiClient) -> NewSecret:
    secret = new_secret()
    client.webhook_secret = secret
    client.webhook_secret_issued_at = now_utc()
    return NewSecret(client, secret)


def set_address(
    session: Session,
    client: ApiClient,
    url: str,
    *,
    by: User | None = None,
    actor: str | None = None,
) -> NewSecret | None:
    """Send ``client``'s events to ``url``; returns the new secret the first time."""
    _can_listen(client)
    url = checked_url(url, allow_http_loopback=allow_http_loopback())
    before = client.webhook_url
    client.webhook_url = url
    issued = _issue(client) if not client.webhook_secret else None
    if before != url or issued:
        record(
            "api_client_webhook_set",
            client,
            user=by,
            actor=actor,
            detail={"old": before, "new": url, "new_secret": bool(issued)},
        )
    return issued


def rotate_secret(session: Session, client: ApiClient, *, by: User | None = None) -> NewSecret:
    """A new signing secret; events are signed with it from now on."""
    _can_listen(client)
    if not client.webhook_url:
        raise AddressProblem("Set the webhook address first.")
    issued = _issue(client)
    record("api_client_webhook_secret_rotated", client, user=by)
    return issued


STOPPED = "Not sent: an administrator stopped this system's events."


def remove(session: Session, client: ApiClient, *, by: User | None = None) -> None:
    """Stop sending events: events not yet delivered are not sent, to this address or
    to any set later (they are cancelled now, not when the sender next looks)."""
    if not client.webhook_url:
        return
    dropped = session.execute(
        sa.update(Notification)
        .where(
            Notification.api_client_id == client.id,
            Notification.kind == Kind.WEBHOOK,
            Notification.status.in_([Status.PENDING, Status.FAILED]),
        )
        .values(status=Status.CANCELLED, last_error=STOPPED, claim_token=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    record(
        "api_client_webhook_removed",
        client,
        user=by,
        detail={"old": client.webhook_url, "events_not_sent": dropped},
    )
    client.webhook_url = client.webhook_secret = client.webhook_secret_issued_at = None
