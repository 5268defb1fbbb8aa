"""Sign-in, sign-out, session loading and the idle timeout."""

from __future__ import annotations

import datetime as dt
import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user

from ..audit import record
from ..extensions import db, login_manager
from ..models import User
from .cli import create_user_command
from .views import IDLE_KEY, bp


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Sessions carry ``<user id>:<session version>``; a bumped version ends them."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def _enforce_idle_timeout():
    if request.endpoint in (None, "static", "health.healthz"):
        return None
    if not current_user.is_authenticated:
        return None
    limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    now = time.time()
    last_seen = session.get(IDLE_KEY)
    if last_seen is not None and now - float(last_seen) > limit:
        record("sign_out_idle", current_user._get_current_object())
        db.session.commit()
        logout_user()
        session.clear()
        flash(
            f"You were signed out after {current_app.config['SESSION_IDLE_MINUTES']} minutes "
            "without activity. Sign in again to carry on.",
            "warning",
        )
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    session[IDLE_KEY] = now
    return None


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.permanent_session_lifetime = dt.timedelta(hours=12)
    app.before_request(_enforce_idle_timeout)
    app.register_blueprint(bp)
    app.cli.add_command(create_user_command)
