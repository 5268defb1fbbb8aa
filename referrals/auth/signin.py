"""Checking a password: the same work and the same answer whether or not the account
exists, is deactivated or is paused by the throttle (``throttle.py``).

Every attempt looks the email up, counts itself in the throttle and checks one password
hash (a dummy one when there is no account to check, or the attempt is paused), so
neither the answer nor the time taken tells an account that exists from one that does
not. A deactivated account with the right password is told the same as a wrong
password: nothing confirms a password to anyone but its active owner.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import UNUSABLE_PASSWORD, User
from . import throttle

# Checked against when there is no real hash to check, with the app's own hashing
# (scrypt), so that such an attempt takes as long as a real one.
_DUMMY_HASH = generate_password_hash("not a real password")


@dataclass(frozen=True)
class SignInResult:
    # "ok"; or, all answered alike: "bad" (wrong password), "unknown" (no account),
    # "inactive" (deactivated account, right password), "paused" (throttled)
    outcome: str
    user: User | None = None
    paused_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def attempt_sign_in(
    session: Session,
    email: str,
    password: str,
    *,
    address: str,
    devices: dict[str, str],
    now: dt.datetime,
) -> SignInResult:
    """Check ``password`` for ``email`` from ``address`` (``devices``: the accounts this
    browser is a recognised device for). Counts a failure; the caller commits."""
    email = normalise_email(email)
    user = session.scalar(sa.select(User).where(User.email == email))
    device = devices.get(str(user.id)) if user is not None else None
    keys = throttle.counters(email, address or "", device)
    connection = session.connection()
    until = throttle.reserve(connection, keys)  # counted as a failure until it succeeds
    if until is not None:
        check_password_hash(_DUMMY_HASH, password)
        return SignInResult("paused", user, until)
    if user is not None and not user.password_hash.startswith(UNUSABLE_PASSWORD):
        right = user.check_password(password)
    else:
        check_password_hash(_DUMMY_HASH, password)
        right = False
    if right and user.active:
        throttle.refund(connection, keys)
        throttle.clear_account(connection, email, [address or ""])
        user.last_login_at = now
        return SignInResult("ok", user)
    if user is None:
        return SignInResult("unknown")
    return SignInResult("inactive" if right else "bad", user)
