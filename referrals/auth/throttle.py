"""Sign-in throttling that slows guessing but cannot keep anyone out for long.

Failed sign-ins are counted in fixed windows (each attempt is counted before it is
checked, and taken back when it succeeds), in the database (``rate_limits.py``), so
every worker and machine counts together. Counts are kept for the email as typed,
whether or not an account has it, so a known and an unknown address get exactly the
same answers. Three counts:

- one account from one address, or from one recognised device: 5 per 15 minutes;
- one account from all unrecognised devices: 20 per hour (a spread-out attack);
- one address, whatever accounts it tries: 50 per hour (password spraying).

Wrong codes from the sign-in app, after the password, are counted the same way per
account (``code_counters``), apart from the passwords.

A device is recognised when it holds a signed cookie given after a full sign-in to that
account (the OWASP "device cookie"). A recognised device is only limited by its own
count, so nobody elsewhere can keep the account holder out: at worst an attacker pauses
sign-ins from their own address, and from new devices while they keep attacking. Every
pause ends when its window does; an administrator can clear the counts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from flask import Request, Response, current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from limits import parse
from sqlalchemy.engine import Connection

from .. import rate_limits

DEVICE_COOKIE = "rp_device"
DEVICE_DAYS = 180
DEVICES_KEPT = 8  # accounts remembered per browser (a shared custody PC)


@dataclass(frozen=True)
class Limit:
    amount: int
    window: float  # seconds

    @classmethod
    def from_setting(cls, text: str) -> Limit:
        item = parse(text)
        return cls(item.amount, float(item.get_expiry()))


def _limits() -> dict[str, Limit]:
    config = current_app.config
    return {
        "account": Limit.from_setting(config["SIGN_IN_FAILURES_PER_ACCOUNT"]),
        "anywhere": Limit.from_setting(config["SIGN_IN_FAILURES_PER_ACCOUNT_ANYWHERE"]),
        "address": Limit.from_setting(config["SIGN_IN_FAILURES_PER_ADDRESS"]),
    }


def counters(email: str, address: str, device: str | None) -> list[tuple[str, Limit]]:
    """The counts a sign-in to ``email`` from ``address`` is judged by (``device``: the
    recognised device's id for this account, if any)."""
    limits = _limits()
    key = rate_limits.counter_key
    if device:
        return [(key("signin-device", email, device), limits["account"])]
    return [
        (key("signin-account-address", email, address), limits["account"]),
        (key("signin-account", email), limits["anywhere"]),
        (key("signin-address", address), limits["address"]),
    ]


def code_counters(user_id: int, address: str, device: str | None) -> list[tuple[str, Limit]]:
    """The counts a code from the sign-in app is judged by, after the password step of
    account ``user_id``: kept apart from the password's, but alike, so that wrong codes
    sent from elsewhere (by someone holding the password) never pause a recognised
    device (``device``), nor a new one for longer than the account-wide count's hour."""
    limits = _limits()
    key = rate_limits.counter_key
    account = str(user_id)
    if device:
        return [(key("code-device", account, device), limits["account"])]
    return [
        (key("code-account-address", account, address), limits["account"]),
        (key("code-account", account), limits["anywhere"]),
    ]


def paused_until(connection: Connection, keys: list[tuple[str, Limit]]) -> dt.datetime | None:
    """When sign-in may be tried again, if any count is used up; else ``None``."""
    until = None
    for key, limit in keys:
        count, expires = rate_limits.count(connection, key)
        if count >= limit.amount:
            until = max(until or 0.0, expires)
    return dt.datetime.fromtimestamp(until, dt.UTC) if until else None


def reserve(connection: Connection, keys: list[tuple[str, Limit]]) -> dt.datetime | None:
    """Count an attempt before checking it, and say until when sign-in is paused if the
    attempt is one too many (else ``None``). Counting first means guesses sent at the
    same moment are each counted before any is checked, so none gets past the limit;
    an attempt that succeeds is taken back with ``refund``."""
    until = None
    for key, limit in keys:
        count, expires = rate_limits.hit_window(connection, key, limit.window)
        if count > limit.amount:
            until = max(until or 0.0, expires)
    return dt.datetime.fromtimestamp(until, dt.UTC) if until else None


def refund(connection: Connection, keys: list[tuple[str, Limit]]) -> None:
    """Take back the attempt ``reserve`` counted: it succeeded, so it was no failure."""
    for key, limit in keys:
        rate_limits.hit(connection, key, limit.window, amount=-1)


def clear_account(
    connection: Connection, email: str, addresses: list[str], user_id: int | None = None
) -> None:
    """Forget failures for ``email`` (its account-wide counts, of passwords and of the
    codes of account ``user_id``, and those from ``addresses``)."""
    key = rate_limits.counter_key
    keys = [key("signin-account", email)]
    keys += [key("signin-account-address", email, a) for a in addresses]
    if user_id is not None:
        keys.append(key("code-account", str(user_id)))
        keys += [key("code-account-address", str(user_id), a) for a in addresses]
    rate_limits.clear(connection, keys)


# -- recognised devices ----------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="recognised-device")


def devices(request: Request) -> dict[str, str]:
    """The accounts (user id -> device id) this browser signed in to before."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        value = _serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return {}
    return value if isinstance(value, dict) else {}


def remember_device(request: Request, response: Response, user_id: int) -> None:
    """After a full sign-in: this browser is a recognised device for ``user_id``."""
    known = devices(request)
    # Most recent last, so the oldest is forgotten first.
    known[str(user_id)] = known.pop(str(user_id), None) or secrets.token_urlsafe(12)
    kept = dict(list(known.items())[-DEVICES_KEPT:])
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps(kept),
        max_age=DEVICE_DAYS * 86400,
        httponly=True,
        samesite="Lax",
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]) or request.is_secure,
    )
