"""Multi-factor sign-in: a six-digit code from a sign-in app (TOTP, RFC 6238, through
``pyotp``) after the password, or a one-time recovery code instead.

Required for every role that sees person-level data (custody, provider) and for
administrators; optional for area leads. The published demo accounts are exempt, and
only in a database holding demo data (which never holds real accounts). Enrolment
shows a QR code (made here, no outside service) and the key as text, and is confirmed
by a code from the app. The key being set up is this browser's alone, kept in its
session (encrypted with the app's keys) rather than on the account: nobody else signing
in meanwhile sees it, and the account's app, if it has one, works until the new one is
confirmed. A code works once: the last 30-second step used is kept, and an
earlier or equal step is refused. Codes from the step before and after are accepted, for
phones whose clocks drift.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import MutableMapping

import pyotp
import segno
import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..choices import Role
from ..encryption import EncryptionKeyError, keyring
from ..models import User
from .models import RecoveryCode

REQUIRED_ROLES = frozenset({Role.CUSTODY, Role.PROVIDER, Role.ADMIN})
STEP = 30
DRIFT_STEPS = 1
RECOVERY_CODES = 10
SETTING_UP = "mfa_setting_up"  # browser session key: the key being set up, encrypted
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # nothing to misread


def required(user: User, demo_loaded: bool, demo_emails: frozenset[str]) -> bool:
    """Whether ``user`` must use a second factor to sign in."""
    if user.role not in REQUIRED_ROLES:
        return False
    return not (demo_loaded and user.email in demo_emails)


def enrolled(user: User) -> bool:
    return user.totp_enrolled_at is not None and bool(user.totp_secret)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` address for an ``<img>``."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def group_key(secret: str) -> str:
    """The key as people type it: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _digits(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "")


def _matching_step(secret: str, code: str, now: dt.datetime, after: int | None) -> int | None:
    code = _digits(code)
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def verify(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    """Check a code from the enrolled app; a used code (or an earlier one) fails, even
    when the same code is sent twice at once."""
    if not enrolled(user):
        return False
    step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        return False
    claimed = session.execute(
        sa.update(User)
        .where(
            User.id == user.id,
            sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    user.totp_last_step = step
    return True


def confirm(
    session: Session,
    store: MutableMapping,
    user: User,
    code: str,
    now: dt.datetime,
    *,
    replacing: bool,
) -> str:
    """Finish setting up the app with a code from the key this browser set up
    (``store``, its session; ``start_enrolment``): the account's app becomes that one.
    ``replacing``: the account has an app, which this one replaces (from its own
    settings); otherwise it must still have none, and one set up meanwhile in another
    browser wins. Returns "confirmed", "wrong" (not a code of that key, or no key being
    set up) or "taken" (the account's app changed meanwhile); the caller commits."""
    secret = _setting_up(store, user)
    step = _matching_step(secret, code, now, None) if secret else None
    if step is None:
        return "wrong"
    had_app = User.totp_enrolled_at.is_not(None)
    claimed = session.execute(
        sa.update(User)
        .where(User.id == user.id, had_app if replacing else sa.not_(had_app))
        .values(totp_secret=secret, totp_enrolled_at=now, totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return "taken"
    set_committed_value(user, "totp_secret", secret)
    set_committed_value(user, "totp_enrolled_at", now)
    set_committed_value(user, "totp_last_step", step)
    store.pop(SETTING_UP, None)
    return "confirmed"


def start_enrolment(store: MutableMapping, user: User) -> str:
    """The key this browser sets up for ``user``: a new one, kept in its session
    (``store``) encrypted, or the one it is setting up already, so that reloading the page
    does not undo a scan. The account is not changed until ``confirm``."""
    secret = _setting_up(store, user)
    if secret is None:
        secret = new_secret()
        store[SETTING_UP] = {"uid": user.id, "key": keyring().encrypt(secret)}
    return secret


def forget_enrolment(store: MutableMapping) -> None:
    """Drop the key this browser was setting up: the next set-up starts with a new one."""
    store.pop(SETTING_UP, None)


def _setting_up(store: MutableMapping, user: User) -> str | None:
    kept = store.get(SETTING_UP)
    if not isinstance(kept, dict) or kept.get("uid") != user.id:
        return None
    try:
        return keyring().decrypt(str(kept.get("key", "")))
    except EncryptionKeyError:  # kept under a key since removed: start again
        return None


def reset(session: Session, user: User) -> None:
    """Forget the app and recovery codes: the user sets them up again at sign-in."""
    user.totp_secret = None
    user.totp_enrolled_at = None
    user.totp_last_step = None
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def _code_hash(user_id: int, code: str) -> str:
    text = re.sub(r"[\s-]", "", code or "").lower()
    return hashlib.sha256(f"{user_id}:{text}".encode()).hexdigest()


def new_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    """Replace ``user``'s recovery codes with new ones; return them (shown once)."""
    session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(12))
        code = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        codes.append(code)
        session.add(
            RecoveryCode(user_id=user.id, code_hash=_code_hash(user.id, code), created_at=now)
        )
    return codes


def use_recovery_code(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    """Spend one recovery code; ``False`` if it is wrong or used."""
    used = session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _code_hash(user.id, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    return used.rowcount == 1


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
