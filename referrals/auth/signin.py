"""Signing in: password checks and the lock-out, kept in the database so that every
gunicorn worker and machine sees the same count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..models import User

# Checked against when the email is unknown, so a wrong address takes as long as a
# wrong password and response times do not reveal which accounts exist.
_DUMMY_HASH = generate_password_hash("not a real password")


@dataclass(frozen=True)
class SignInResult:
    outcome: str  # "ok", "bad", "locked", "locked_now", "inactive", "unknown"
    user: User | None = None
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def attempt_sign_in(
    session: Session,
    email: str,
    password: str,
    now: dt.datetime,
    *,
    max_failures: int = 5,
    lockout: dt.timedelta = dt.timedelta(minutes=15),
) -> SignInResult:
    """Check ``password`` for ``email`` and update the failure count and lock-out.

    The caller commits (the failure count must persist even when sign-in fails).
    """
    user = session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return SignInResult("unknown")
    if user.locked_until is not None and user.locked_until > now:
        return SignInResult("locked", user, user.locked_until)
    if user.check_password(password):
        if not user.active:
            return SignInResult("inactive", user)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        return SignInResult("ok", user)
    # Count the failure in one statement, so concurrent attempts cannot lose a count.
    session.execute(
        sa.update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
    )
    session.refresh(user, ["failed_logins"])
    if user.failed_logins >= max_failures:
        user.failed_logins = 0
        user.locked_until = now + lockout
        return SignInResult("locked_now", user, user.locked_until)
    return SignInResult("bad", user)
