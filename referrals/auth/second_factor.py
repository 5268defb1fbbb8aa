"""The second step of signing in: ``/login/verify`` (a code from the sign-in app, or a
recovery code) and ``/login/enrol`` (setting the app up, for those who must have one).
Wrong codes are counted like passwords (per account and device, or per account and
address and per account; ``throttle.code_counters``); after too many the sign-in starts
again from the password."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..audit import client_ip, record
from ..clock import now_utc
from ..extensions import db
from ..security import limiter
from . import mfa, throttle
from .flow import PENDING, complete_sign_in, pending
from .views import bp, paused_message


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        validators=[
            DataRequired("Enter the code."),
            Length(max=40, message="That is too long for a code."),
        ],
    )

    def refuse(self, message: str) -> None:
        """A wrong code: the message goes on the code box (tied to it, and listed in the
        page's summary) and the box is emptied for the next code."""
        self.code.errors = [*self.code.errors, message]
        self.code.raw_data = []
        self.code.data = ""


def _start_again(message: str):
    session.pop(PENDING, None)
    flash(message, "warning")
    return redirect(url_for("auth.login"))


def _reserve(user) -> tuple:
    """Count a code attempt before checking it (see ``throttle.reserve``): when sign-in
    is paused, and the counter to ``throttle.refund`` if the code is right."""
    device = throttle.devices(request).get(str(user.id))
    keys = throttle.code_counters(user.id, client_ip() or "", device)
    return throttle.reserve(db.session.connection(), keys), keys


@bp.route("/login/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def second_factor():
    user, next_url = pending()
    if user is None:
        return _start_again("Sign in again: that sign-in was not finished within ten minutes.")
    if not mfa.enrolled(user):
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        now = now_utc()
        until, keys = _reserve(user)
        if until is not None:
            record("sign_in_paused", user, user=user, detail={"reason": "second factor"})
            db.session.commit()
            return _start_again(paused_message(until))
        if mfa.verify(db.session, user, form.code.data, now):
            throttle.refund(db.session.connection(), keys)
            return complete_sign_in(user, next_url, "app")
        if mfa.use_recovery_code(db.session, user, form.code.data, now):
            throttle.refund(db.session.connection(), keys)
            left = mfa.recovery_codes_left(db.session, user)
            response = complete_sign_in(user, next_url, "recovery code")
            flash(  # after signing in, which starts a fresh session
                f"You signed in with a recovery code; {left} left. If you have lost your "
                "phone, set the sign-in app up again in Sign-in and security.",
                "warning",
            )
            return response
        record("sign_in_failed", user, user=user, detail={"reason": "wrong code"})
        db.session.commit()
        form.refuse(
            "That code is not right. Check the six digits now shown in your sign-in app "
            "and try again, or use one of your recovery codes."
        )
        status = 401
    elif form.is_submitted():
        status = 400
    return render_template("auth/verify.html", form=form, user=user), status


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SIGN_IN_RATE_LIMIT"], methods=["POST"])
def enrol():
    user, next_url = pending()
    if user is None:
        return _start_again("Sign in again: that sign-in was not finished within ten minutes.")
    if mfa.enrolled(user):
        return redirect(url_for("auth.second_factor"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        until, keys = _reserve(user)
        if until is not None:
            db.session.commit()
            return _start_again(paused_message(until))
        now = now_utc()
        outcome = mfa.confirm(db.session, session, user, form.code.data, now, replacing=False)
        if outcome == "confirmed":
            throttle.refund(db.session.connection(), keys)
            codes = mfa.new_recovery_codes(db.session, user, now)
            record("mfa_enrolled", user, user=user)
            page = render_template("auth/recovery_codes.html", codes=codes, next=next_url)
            return complete_sign_in(user, next_url, "app (set up now)", page=page)
        db.session.commit()
        if outcome == "taken":  # set up meanwhile in another browser: its code is asked
            return redirect(url_for("auth.second_factor"))
        form.refuse(
            "That code is not right. Check that the app shows Referral Pathways and enter the "
            "six digits it shows now."
        )
        status = 401
    elif form.is_submitted():
        status = 400
    secret = mfa.start_enrolment(session, user)
    uri = mfa.provisioning_uri(user, secret, current_app.config["MFA_ISSUER"])
    return (
        render_template(
            "auth/enrol.html",
            form=form,
            qr=mfa.qr_data_uri(uri),
            key=mfa.group_key(secret),
            action=url_for("auth.enrol"),
            intro=True,
            ask_password=False,  # the password was given a moment ago
        ),
        status,
    )
