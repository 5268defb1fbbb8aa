"""Posting one webhook outbox row to its system (called by the notifications sender).

The body is the event written with the status change, plus links to the referral in the
referral API; it is the same on every attempt. A 2xx answer delivers it. Anything else,
or no answer, raises ``DeliveryError`` and the sender tries again after a growing wait
(410 Gone: at once marked failed, since the system said the address is no more). A
redirect is not followed: register the address it points to instead. Each post gives up
after ``WEBHOOK_DEADLINE`` seconds in all, however the system trickles its answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from functools import partial

import requests
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..api.clients import client_scope
from ..api.models import ApiClient
from ..models import Referral
from ..notifications.backends import DeliveryError
from ..notifications.messages import NotSent, external_url
from ..notifications.models import Notification
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
    )


def _post(
    name: str, url: str, body: bytes, headers: dict, *, deadline: float, timeout: float
) -> str:
    answer = _post_within(deadline, timeout, url, data=body, headers=headers)
    if 200 <= answer.status_code < 300:
        return f"HTTP {answer.status_code} from {name}"
    if 300 <= answer.status_code < 400:
        raise DeliveryError(
            f"{url} answered {answer.status_code}, a redirect: register the "
            "address it points to instead.",
        )
    raise DeliveryError(
        f"{url} answered {answer.status_code}.",
        permanent=answer.status_code == 410,
    )


def _post_within(deadline: float, timeout: float, url: str, **options) -> requests.Response:
    """POST, giving up after ``deadline`` seconds in all. ``timeout`` bounds each wait
    for the network, so a system sending its answer's headers a byte at a time could
    otherwise hold the sender for ever: the post runs in a thread of its own, left to
    end by itself (its socket times out) when the deadline passes. Only the status is
    needed: the answer's body is never read (a system sending a large or slow one
    cannot hold the sender, or fill its memory)."""
    done: dict[str, object] = {}

    def run() -> None:
        try:
            answer = requests.post(
                url, allow_redirects=False, stream=True, timeout=timeout, **options
            )
            answer.close()
            done["answer"] = answer
        except requests.RequestException as exc:
            done["error"] = exc

    worker = threading.Thread(target=run, name="webhook-post", daemon=True)
    worker.start()
    worker.join(deadline)
    if "answer" in done:
        return done["answer"]
    if "error" in done:
        raise DeliveryError(f"Could not reach {url}: {done['error']}")
    raise DeliveryError(f"{url} did not answer within {deadline:g} seconds.")


def _in_scope(session: Session, client: ApiClient, referral_id: int) -> bool:
    """Whether the system may still see the referral: its scope may have changed since
    the event was queued (an administrator moved it to other suites)."""
    found = sa.select(Referral.id).where(Referral.id == referral_id, client_scope(client))
    return session.scalar(found) is not None
