"""``/login`` (the password step) and ``/logout``."""

from __future__ import annotations

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
from flask_login import current_user, logout_user

from ..audit import client_ip, record
from ..clock import now_utc
from ..extensions import db
from ..security import limiter, same_site_path
from ..templating import format_datetime
from . import mfa, sessions, throttle
from .flow import SID, begin_second_step, complete_sign_in, needs_second_factor, pending
from .forms import SignInForm
from .signin import attempt_sign_in, normalise_email

bp = Blueprint("auth", __name__)

WRONG = (
    "The email address or password is not right. Check them and try again. After several "
    "failed attempts, signing in from here is paused for a few minutes."
)


def paused_message(until) -> str:
    return (
        "Signing in is paused after too many failed attempts. Try again after "
        f"{format_datetime(until)}. If you have forgotten your password, ask your "
        "administrator to set a new one."
    )


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def login():
    next_url = same_site_path(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("home.index"))
    form = SignInForm()
    error, status = None, 200
    if form.validate_on_submit():
        email = normalise_email(form.email.data)
        result = attempt_sign_in(
            db.session,
            email,
            form.password.data,
            address=client_ip() or "",
            devices=throttle.devices(request),
            now=now_utc(),
        )
        if result.ok:
            user = result.user
            if needs_second_factor(user):
                record("sign_in_password_ok", user, user=user)
                db.session.commit()
                begin_second_step(user, next_url)
                step = "auth.second_factor" if mfa.enrolled(user) else "auth.enrol"
                return redirect(url_for(step))
            return complete_sign_in(user, next_url, "none")
        known = result.user
        # The log says what really happened; the person signing in is told the same
        # whatever it was. Emails typed for no account are not kept.
        record(
            "sign_in_paused" if result.outcome == "paused" else "sign_in_failed",
            known,
            object_type="users",
            user=known,
            actor=known.email if known else None,
            detail={"reason": result.outcome},
        )
        db.session.commit()
        if result.outcome == "paused":
            error, status = paused_message(result.paused_until), 429
        else:
            error, status = WRONG, 401
    elif form.is_submitted():
        status = 400
    return render_template("auth/login.html", form=form, error=error, next=next_url), status


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    if request.method == "GET":
        return render_template("auth/logout.html")
    if current_user.is_authenticated:
        sessions.end(db.session, session.get(SID), now_utc(), "signed_out")
        record("sign_out", current_user._get_current_object())
        db.session.commit()
        logout_user()
    elif pending()[0] is not None:
        record("sign_in_abandoned", pending()[0])
        db.session.commit()
    session.clear()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))
