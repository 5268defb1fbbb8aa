"""The steps of signing in: the password, then (when needed) the second factor, then a
session. Between the steps the browser's signed cookie holds only who passed the
password step and when (for ten minutes); nothing else is signed in yet."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time

from flask import current_app, redirect, request, session, url_for
from flask_login import login_user

from ..audit import client_ip, record
from ..clock import now_utc
from ..extensions import db
from ..models import User
from ..nation import demo_data_loaded
from ..seed.demo import DEMO_ACCOUNTS
from . import mfa, sessions, throttle

PENDING = "pending_sign_in"
PENDING_SECONDS = 600
SID = "sid"  # session key: the server-side session's token
IDLE_KEY = "last_seen"  # session key: when the signed-in user last did something
DEMO_EMAILS = frozenset(email for email, _, _ in DEMO_ACCOUNTS)


def needs_second_factor(user: User) -> bool:
    return mfa.enrolled(user) or mfa.required(user, demo_data_loaded(), DEMO_EMAILS)


def _password_mark(user: User) -> str:
    """A keyed digest of the account's password hash: a password changed (or reset)
    after the password step makes the step's record stale."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, (user.password_hash or "").encode(), hashlib.sha256).hexdigest()[:32]


def begin_second_step(user: User, next_url: str | None) -> None:
    session.clear()  # nothing from before the password survives: no fixation
    session[PENDING] = {
        "uid": user.id,
        "v": user.session_version,
        "pw": _password_mark(user),
        "at": time.time(),
        "next": next_url,
    }


def pending() -> tuple[User | None, str | None]:
    """Who passed the password step in this browser in the last ten minutes, and where
    they were going; ``(None, None)`` otherwise, and when the password has changed
    since (the old password must not finish signing in)."""
    state = session.get(PENDING)
    if not isinstance(state, dict) or time.time() - float(state.get("at", 0)) > PENDING_SECONDS:
        return None, None
    user = db.session.get(User, int(state.get("uid", 0)))
    if user is None or not user.active or user.session_version != state.get("v"):
        return None, None
    if not hmac.compare_digest(str(state.get("pw", "")), _password_mark(user)):
        return None, None
    return user, state.get("next")


def complete_sign_in(user: User, next_url: str | None, how: str, page=None):
    """Sign ``user`` in: a new server-side session, a fresh cookie, an audit row, and
    this browser remembered as a device of theirs. Returns ``page`` (or a redirect to
    ``next_url``)."""
    now = now_utc()
    lifetime = dt.timedelta(hours=current_app.config["SESSION_LIFETIME_HOURS"])
    token = sessions.start(
        db.session,
        user.id,
        now,
        lifetime,
        ip=client_ip(),
        user_agent=request.headers.get("User-Agent"),
    )
    user.last_login_at = now
    record("sign_in", user, user=user, detail={"second_factor": how})
    db.session.commit()
    session.clear()
    login_user(user)
    session[SID] = token
    session[IDLE_KEY] = time.time()
    response = current_app.make_response(
        page if page is not None else redirect(next_url or url_for("home.index"))
    )
    throttle.remember_device(request, response, user.id)
    return response
