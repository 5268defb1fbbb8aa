"""Signing in and out: passwords, the second factor, sessions held on the server, the
throttle on failed attempts, and each person's own sign-in settings."""

from __future__ import annotations

import datetime as dt
import functools

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

from .. import nation
from ..audit import record
from ..clock import now_utc
from ..extensions import db, login_manager
from ..models import User
from . import sessions
from .cli import create_user_command
from .flow import SID
from .models import UserSession
from .views import bp

ENDED_MESSAGES = {
    "idle": "You were signed out after {idle} minutes without activity. Sign in again to "
    "carry on.",
    "expired": "You were signed out {hours} hours after signing in. Sign in again to carry on.",
}


@functools.cache
def _user_with_session(dialect: str) -> sa.Select:
    """The user and the live session whose token has the hash given, in one statement,
    with the nation's settings the page will show (``nation.settings_columns``): built
    once per process (every signed-in request runs it) and run with the parameters
    ``user_id`` and ``token_hash``."""
    live = UserSession
    token_hash = sa.bindparam("token_hash", type_=sa.String)
    settings, demo = nation.settings_columns(dialect)
    return (
        sa.select(User, live.id, live.ended_at, live.last_seen_at, live.expires_at, settings, demo)
        .outerjoin(live, sa.and_(live.user_id == User.id, live.token_hash == token_hash))
        .where(User.id == sa.bindparam("user_id", type_=sa.Integer))
    )


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions carry ``<user id>:<session version>`` and the token of a live server-side
    session; a bumped version or an ended session signs the browser out.

    The user and their session are read together, in one statement; the session row is
    written (marked seen, or ended) only now and then, in a short transaction of its
    own, so that it is kept whatever the request then does."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    token = session.get(SID)
    row = db.session.execute(
        _user_with_session(db.session.get_bind().dialect.name),
        {"user_id": int(user_id), "token_hash": sessions.token_hash(token or "")},
    ).first()
    if row is not None:
        nation.remember(row.nation_settings, row.demo_data_loaded)
    user = row[0] if row is not None else None
    if user is None or not user.active or user.session_version != int(version):
        return None
    ended = "missing"
    if token and row.id is not None:
        now = now_utc()
        idle = dt.timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
        ended, write = sessions.verdict(row.ended_at, row.last_seen_at, row.expires_at, now, idle)
        if write:
            with db.engine.begin() as connection:
                sessions.mark(connection, row.id, now, ended)
    if ended:
        g.session_ended = (ended, user)
        return None
    return user


def _sign_out_ended_sessions():
    if request.endpoint in (None, "static", "health.healthz"):
        return None
    if current_user.is_authenticated or "session_ended" not in g:
        return None
    reason, user = g.pop("session_ended")
    if reason in ENDED_MESSAGES:
        record(f"sign_out_{reason}", user, user=user)
        db.session.commit()
    logout_user()
    session.clear()
    config = current_app.config
    message = ENDED_MESSAGES.get(reason, "You are signed out. Sign in again to carry on.")
    flash(
        message.format(
            idle=config["SESSION_IDLE_MINUTES"], hours=config["SESSION_LIFETIME_HOURS"]
        ),
        "warning",
    )
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    from . import account, second_factor  # noqa: F401  (register routes)

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(_sign_out_ended_sessions)
    app.register_blueprint(bp)
    app.cli.add_command(create_user_command)
