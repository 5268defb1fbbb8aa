"""Who is calling the referral API: the registered system whose bearer token came with
the request. No token, an unknown one or a revoked one answers 401; a system calling
for something its role may not do answers 403. Refused tokens are audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps

from flask import g, request

from .. import rate_limits
from ..audit import client_ip, record
from ..choices import Role
from ..clock import now_utc
from ..extensions import db
from .models import ApiClient
from .params import ApiError
from .tokens import Refusal, bearer_token, client_for_token

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="referrals"'}
LAST_USED_EVERY = dt.timedelta(minutes=1)
MESSAGES = {
    "missing": "Send the system's token in an Authorization header: Bearer <token>.",
    "malformed": "That is not a token from this service.",
    "unknown": "That token is not recognised: it may have been replaced by a new one.",
    "revoked": "That token was revoked: ask an administrator to register the system again.",
}


def current_client() -> ApiClient:
    return g.api_client


# Systems that make and follow referrals; reports systems read the published figures only.
REFERRAL_ROLES = (Role.CUSTODY, Role.PROVIDER)


REFUSALS_RECORDED_EVERY = 60  # seconds: one audit row per address and reason


def _first_refusal_this_minute(reason: str) -> bool:
    """Whether this is the first token refused for ``reason`` from this address in the
    minute: only that one is written to the audit log, so that a client sending bad
    tokens over and over cannot fill it."""
    key = rate_limits.counter_key("api-token-refused", reason, client_ip() or "")
    return rate_limits.hit(db.session.connection(), key, REFUSALS_RECORDED_EVERY) == 1


def client_required(*roles: Role) -> Callable:
    """Only registered systems of one of ``roles`` (by default: the referral systems) may
    call the view."""
    roles = roles or REFERRAL_ROLES

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            found = client_for_token(
                db.session, bearer_token(request.headers.get("Authorization"))
            )
            if isinstance(found, Refusal):
                if found.reason != "missing" and _first_refusal_this_minute(found.reason):
                    record(
                        "api_token_refused",
                        object_type="api_clients",
                        actor="API client",
                        detail={"reason": found.reason, "prefix": found.prefix},
                    )
                db.session.commit()
                raise ApiError(401, MESSAGES[found.reason], headers=CHALLENGE)
            if found.role not in roles:
                raise ApiError(403, "This system's role cannot do that.")
            now = now_utc()
            if found.last_used_at is None or now - found.last_used_at > LAST_USED_EVERY:
                found.last_used_at = now  # saved with the call's own audit record
            g.api_client = found
            return view(*args, **kwargs)

        return wrapped

    return decorator
