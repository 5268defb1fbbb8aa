"""``/settings/sign-in``: a signed-in person's own password, sign-in app, recovery codes
and sessions. Every change asks for the current password again (a session left open
on a shared computer cannot change them) and is audited."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..audit import client_ip, record
from ..clock import now_utc
from ..extensions import db
from ..nation import demo_data_loaded
from . import mfa, sessions, throttle
from .flow import DEMO_EMAILS, SID
from .passwords import password_problem
from .second_factor import CodeForm
from .views import bp, paused_message


class ConfirmForm(FlaskForm):
    password = PasswordField(
        "Your current password",
        validators=[DataRequired("Enter your current password."), Length(max=500)],
    )


class EnrolForm(CodeForm):
    """Setting the app up from the settings page: the code, and the current password
    unless it was given a moment ago to set the app up on a new phone."""

    password = PasswordField("Your current password", validators=[Length(max=500)])


# Given the password to set the app up on a new phone: the set-up page asks no more.
ENROL_CONFIRMED = "enrol_confirmed_at"
ENROL_CONFIRMED_FOR = 600  # seconds


def _enrol_confirmed() -> bool:
    at = session.get(ENROL_CONFIRMED)
    return isinstance(at, int | float) and 0 <= now_utc().timestamp() - at <= ENROL_CONFIRMED_FOR


class ChangePasswordForm(ConfirmForm):
    new_password = PasswordField(
        "New password", validators=[DataRequired("Enter a new password."), Length(max=500)]
    )
    confirm = PasswordField(
        "New password again",
        validators=[EqualTo("new_password", "The two new passwords do not match.")],
    )


def _user():
    return current_user._get_current_object()


def _mfa_required(user) -> bool:
    return mfa.required(user, demo_data_loaded(), DEMO_EMAILS)


def _password_ok(form: ConfirmForm) -> bool:
    """Check the current password, counted like a sign-in attempt."""
    user = _user()
    keys = throttle.counters(
        user.email, client_ip() or "", throttle.devices(request).get(str(user.id))
    )
    connection = db.session.connection()
    until = throttle.reserve(connection, keys)
    if until is not None:
        db.session.commit()
        form.password.errors.append(paused_message(until))
        return False
    if user.check_password(form.password.data):
        throttle.refund(connection, keys)
        return True
    record("reauthentication_failed", user)
    db.session.commit()
    form.password.errors.append("That is not your current password.")
    return False


def _page(status: int = 200, **forms):
    user = _user()
    forms.setdefault("password_form", ChangePasswordForm(prefix="pw", formdata=None))
    forms.setdefault("confirm_form", ConfirmForm(prefix="confirm", formdata=None))
    now = now_utc()
    return (
        render_template(
            "auth/account.html",
            enrolled=mfa.enrolled(user),
            required=_mfa_required(user),
            codes_left=mfa.recovery_codes_left(db.session, user) if mfa.enrolled(user) else 0,
            live=sessions.live_sessions(db.session, user.id, now),
            current=sessions.token_hash(session.get(SID, "")),
            **forms,
        ),
        status,
    )


@bp.get("/settings/sign-in")
@login_required
def account():
    return _page()


@bp.post("/settings/sign-in/password")
@login_required
def change_password():
    form = ChangePasswordForm(prefix="pw")
    user = _user()
    ok = form.validate() and _password_ok(form)
    if ok and (problem := password_problem(form.new_password.data, user.email)):
        form.new_password.errors.append(problem)
        ok = False
    if not ok:
        return _page(400, password_form=form)
    user.set_password(form.new_password.data)
    ended = _end_elsewhere(user, "password_changed")
    record("password_changed", user, detail={"other_sessions_ended": ended})
    db.session.commit()
    flash("Your password is changed. You are signed out everywhere else.", "success")
    return redirect(url_for("auth.account"))


@bp.post("/settings/sign-in/sessions")
@login_required
def end_other_sessions():
    user = _user()
    # A new session version also stops any sign-in elsewhere that is past the password
    # and waiting for its code; this browser is signed in again under the new one.
    user.session_version += 1
    ended = _end_elsewhere(user, "ended_by_user")
    record("sessions_ended", user, detail={"ended": ended})
    db.session.commit()
    login_user(user)
    flash(
        f"Signed out everywhere else ({ended} other session{'s' if ended != 1 else ''}).",
        "success",
    )
    return redirect(url_for("auth.account"))


def _end_elsewhere(user, reason: str) -> int:
    """End the user's sessions in every other browser; how many."""
    return sessions.end_all(db.session, user.id, now_utc(), reason, keep=session.get(SID))


@bp.post("/settings/sign-in/app/<what>")
@login_required
def app_change(what: str):
    """``new``: set the app up again (a new phone; the app in use works until the new one
    is confirmed); ``off``: stop using it (only where it is optional); ``codes``: new
    recovery codes. A change of the app or the codes signs the account out everywhere
    else: whoever holds a session there may be who the change is meant to keep out."""
    if what not in ("new", "off", "codes"):
        return redirect(url_for("auth.account"))
    form = ConfirmForm(prefix="confirm")
    user = _user()
    if not (form.validate() and _password_ok(form)):
        return _page(400, confirm_form=form)
    if what == "new":
        mfa.forget_enrolment(session)  # a new key for each set-up
        session[ENROL_CONFIRMED] = now_utc().timestamp()
        return redirect(url_for("auth.account_enrol"))
    if what == "codes":
        if not mfa.enrolled(user):
            return redirect(url_for("auth.account"))
        codes = mfa.new_recovery_codes(db.session, user, now_utc())
        ended = _end_elsewhere(user, "sign_in_app_changed")
        record("recovery_codes_replaced", user, detail={"other_sessions_ended": ended})
        db.session.commit()
        return render_template(
            "auth/recovery_codes.html", codes=codes, next=url_for("auth.account")
        )
    if _mfa_required(user):
        flash("Your role needs the sign-in app: it cannot be turned off.", "warning")
        return redirect(url_for("auth.account"))
    mfa.reset(db.session, user)
    ended = _end_elsewhere(user, "sign_in_app_changed")
    record("mfa_removed", user, detail={"other_sessions_ended": ended})
    db.session.commit()
    flash(
        "Signing in no longer asks for a code from the app. You are signed out everywhere else.",
        "success",
    )
    return redirect(url_for("auth.account"))


@bp.route("/settings/sign-in/app", methods=["GET", "POST"])
@login_required
def account_enrol():
    """Set up a sign-in app: the first one (the password is asked with the code), or a
    new phone's in place of the one in use (the password was given a moment ago)."""
    user = _user()
    replacing = mfa.enrolled(user)
    if replacing and not _enrol_confirmed():
        return redirect(url_for("auth.account"))
    form = EnrolForm()
    ask_password = not _enrol_confirmed()
    status = 200
    if form.validate_on_submit():
        now = now_utc()
        if ask_password and not form.password.data:
            form.password.errors.append("Enter your current password.")
            status = 400
        elif ask_password and not _password_ok(form):
            status = 400
        elif (
            outcome := mfa.confirm(
                db.session, session, user, form.code.data, now, replacing=replacing
            )
        ) == "confirmed":
            codes = mfa.new_recovery_codes(db.session, user, now)
            ended = _end_elsewhere(user, "sign_in_app_changed")
            record(
                "mfa_reset_by_user" if replacing else "mfa_enrolled",
                user,
                detail={"other_sessions_ended": ended},
            )
            session.pop(ENROL_CONFIRMED, None)
            db.session.commit()
            return render_template(
                "auth/recovery_codes.html", codes=codes, next=url_for("auth.account")
            )
        elif outcome == "taken":  # changed meanwhile in another of their sessions
            return redirect(url_for("auth.account"))
        else:
            form.refuse(
                "That code is not right. Check that the app shows Referral Pathways and "
                "enter the six digits it shows now."
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
            action=url_for("auth.account_enrol"),
            intro=False,
            ask_password=ask_password,
        ),
        status,
    )
