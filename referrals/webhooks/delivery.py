"""Posting one webhook outbox row to its system (called by the notifications sender).

The body is the event written with the status change, plus links to the referral in the
referral API; it is the same on every attempt. A 2xx answer delivers it. Anything else,
or no answer, raises ``DeliveryError`` and the sender tries again after a growing wait
(410 Gone: at once marked failed, since the system said the address is no more). A
redirect is not followed: register the address it points to instead. Each post gives up
after ``WEBHOOK_DEADLINE`` seconds in all, however the system trickles its answer, and is
not sent (for good) if the address now leads to this machine or a private network
(``posting``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from functools import partial

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..api.clients import client_scope
from ..api.models import ApiClient
from ..models import Referral
from ..notifications.backends import DeliveryError
from ..notifications.messages import NotSent, external_url
from ..notifications.models import Notification
from . import posting
from .registration import allow_http_loopback
from .signing import signature

USER_AGENT = "ReferralPathways-Webhooks/1"


def body_for(row: Notification) -> bytes:
    """The JSON posted for ``row``: the event and links to the referral."""
    event = json.loads(row.payload or "{}")
    referral = event.get("referral", {})
    key = referral.get("id")
    if key:
        referral["link"] = external_url("api.referral", referral_id=key)
        referral["fhir"] = external_url("api.referral_fhir", referral_id=key)
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode()


def headers_for(secret: str, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Referrals-Event-Id": event_id,
        "Referrals-Timestamp": str(timestamp),
        "Referrals-Signature": signature(secret, timestamp, body),
    }


def prepare(session: Session, row: Notification) -> Callable[[], str]:
    """Everything posting ``row`` needs from the database, read now: returns the call
    that posts it (and says what the system answered, or raises ``DeliveryError``), or
    raises ``NotSent`` (the system was revoked or no longer takes events). The call
    needs no database, so the sender holds no transaction while the system answers."""
    client = session.get(ApiClient, row.api_client_id) if row.api_client_id else None
    if client is None:
        raise NotSent("The event has no system to go to.")
    if not client.active:
        raise NotSent(f"{client.name} was revoked.")
    if not client.webhook_url or not client.webhook_secret:
        raise NotSent(f"{client.name} no longer has a webhook address.")
    if row.referral_id is not None and not _in_scope(session, client, row.referral_id):
        raise NotSent(f"{client.name} no longer covers this referral (its scope changed).")
    body = body_for(row)
    event_id = json.loads(body).get("id", f"notification-{row.id}")
    headers = headers_for(client.webhook_secret, event_id, body, int(time.time()))
    config = current_app.config
    return partial(
        _post,
        client.name,
        client.webhook_url,
        body,
        headers,
        deadline=config.get("WEBHOOK_DEADLINE", 30.0),
        timeout=config.get("WEBHOOK_TIMEOUT", 10.0),
        allow_loopback=allow_http_loopback(),
    )


def _post(name: str, url: str, body: bytes, headers: dict, **options) -> str:
    status = posting.post(url, body, headers, **options)
    if 200 <= status < 300:
        return f"HTTP {status} from {name}"
    if 300 <= status < 400:
        raise DeliveryError(
            f"{url} answered {status}, a redirect: register the address it points to instead.",
        )
    raise DeliveryError(f"{url} answered {status}.", permanent=status == 410)


def _in_scope(session: Session, client: ApiClient, referral_id: int) -> bool:
    """Whether the system may still see the referral: its scope may have changed since
    the event was queued (an administrator moved it to other suites)."""
    found = sa.select(Referral.id).where(Referral.id == referral_id, client_scope(client))
    return session.scalar(found) is not None
