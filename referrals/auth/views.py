from __future__ import annotations

import datetime as dt
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..audit import record
from ..clock import now_utc
from ..extensions import db
from ..security import limiter
from ..templating import format_datetime
from .forms import SignInForm
from .signin import attempt_sign_in, normalise_email

bp = Blueprint("auth", __name__)
IDLE_KEY = "last_seen"  # session key: when the signed-in user last did something


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: ``/worklist`` yes; ``//evil.example``, ``https://...`` no."""
    if not target:
        return None
    target = target.strip().replace("\\", "/")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None  # browsers drop tabs and newlines: "/\t/evil.example" is "//evil..."
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def login():
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("home.index"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        result = attempt_sign_in(
            db.session,
            email,
            form.password.data,
            now_utc(),
            max_failures=current_app.config.get("LOGIN_MAX_FAILURES", 5),
            lockout=dt.timedelta(minutes=current_app.config.get("LOGIN_LOCKOUT_MINUTES", 15)),
        )
        if result.ok:
            record("sign_in", result.user, user=result.user)
            db.session.commit()
            session.clear()  # a fresh session on sign-in: no fixation
            login_user(result.user)
            session[IDLE_KEY] = time.time()
            return redirect(next_url or url_for("home.index"))
        if result.outcome in ("locked", "locked_now"):
            action = "lock_out" if result.outcome == "locked_now" else "sign_in_refused_locked"
            record(action, result.user, user=result.user, actor=email)
            error = (
                "This account is locked after too many failed attempts. Try again after "
                f"{format_datetime(result.locked_until)}, or ask your administrator to "
                "unlock it."
            )
        elif result.outcome == "inactive":
            record("sign_in_refused_inactive", result.user, user=result.user, actor=email)
            error = "This account has been deactivated. Ask your administrator."
        else:
            record(
                "sign_in_failed",
                result.user,
                object_type="users",
                user=result.user,
                actor=email,
            )
            error = (
                "The email address or password is not right. Check them and try again. "
                "After 5 failed attempts the account is locked for 15 minutes."
            )
        db.session.commit()
    status = 200 if error is None else 401
    return render_template("auth/login.html", form=form, error=error, next=next_url), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("auth/logout.html")
    if current_user.is_authenticated:
        record("sign_out", current_user._get_current_object())
        db.session.commit()
        logout_user()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
