"""One account, as an administrator sees it: edit it, set a new password, reset the
sign-in app (a lost phone), clear paused sign-ins. A change to what the person may see,
a new password or a reset app ends their sessions everywhere; every change is audited."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, session, url_for
from flask_login import current_user, login_user

from .. import rate_limits
from ..audit import record
from ..auth import mfa, sessions, throttle
from ..auth.flow import SID
from ..auth.passwords import password_problem
from ..choices import Role
from ..clock import now_utc
from ..extensions import db
from ..forms import CHANGED_MEANWHILE, changed_meanwhile, state_mark
from ..models import AuditEvent, User
from . import bp
from .users import (
    PasswordForm,
    UserForm,
    _account_checks,
    _apply,
    _prepare,
    _user_or_404,
    account_values,
)


def account_state(user: User) -> dict:
    """What the user page shows about the account's sign-in."""
    limit = throttle.Limit.from_setting(
        current_app.config["SIGN_IN_FAILURES_PER_ACCOUNT_ANYWHERE"]
    )
    key = rate_limits.counter_key("signin-account", user.email)
    return {
        "mfa_enrolled": mfa.enrolled(user),
        "paused_until": throttle.paused_until(db.session.connection(), [(key, limit)]),
    }


# A change to any of these changes what the person may see: their sessions end.
SEEING = {"active", "role", "organisation_id", "custody_suite_id", "manager", "scheme_id"}


def _fill(form: UserForm, user: User) -> None:
    """The form as the account stands."""
    form.email.data, form.name.data = user.email, user.name
    form.role.data = user.role.value
    form.organisation_id.data = str(user.organisation_id or "")
    form.custody_suite_id.data = str(user.custody_suite_id or "")
    form.area_ids.data = [str(a.id) for a in user.areas]
    form.manager.data = user.manager
    form.scheme_id.data = str(user.scheme_id or "")
    form.active.data = user.active
    form.shown.data = state_mark(account_values(user))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def edit_user(user_id: int):
    user = _user_or_404(user_id)
    form = UserForm()
    _prepare(form)
    password_form = PasswordForm(prefix="pw", formdata=None)
    if form.is_submitted() and changed_meanwhile(
        db.session, form.shown.data, user, account_values
    ):
        # Saving over another administrator's change would undo it (a deactivation, a
        # role taken away): the form shows the account as it is now.
        form = UserForm(formdata=None)
        _prepare(form)
        _fill(form, user)
        flash(CHANGED_MEANWHILE, "warning")
        return _user_page(form, user, password_form, 409)
    if not form.is_submitted():
        _fill(form, user)
    else:
        valid = form.validate()
        ok = _account_checks(form, user.id) and valid
        if user.id == current_user.id and (not form.active.data or form.role.data != Role.ADMIN):
            form.active.errors.append(
                "You cannot deactivate your own account or remove your own administrator role."
            )
            ok = False
        if ok:
            changes = _apply(form, user)
            own = user.id == current_user.id
            if changes.keys() & SEEING:
                # What the person may see changed: every session of theirs ends now
                # (an administrator changing their own scheme keeps this one).
                user.session_version += 1
                reason = "deactivated" if not user.active else "access_changed"
                keep = session.get(SID) if own else None
                sessions.end_all(db.session, user.id, now_utc(), reason, keep=keep)
            if not changes:  # saved as it was: nothing to record
                flash(f"Nothing changed for {user.email}.", "info")
                return redirect(url_for("admin.edit_user", user_id=user.id))
            action = (
                "user_deactivated"
                if changes.get("active") == ["True", "False"]
                else ("user_updated")
            )
            record(action, user, detail=changes)
            db.session.commit()
            if own:
                login_user(user)  # this browser's cookie carries the new session version
            flash(f"Saved {user.email}.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    return _user_page(form, user, password_form, 400 if form.is_submitted() else 200)


def _user_page(form: UserForm, user: User, password_form: PasswordForm, status: int):
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        password_form=password_form,
        **account_state(user),
    ), status


OWN_SIGN_IN = (
    "Change your own password and sign-in app on your sign-in settings page, which asks "
    "for your current password first."
)


def _own_sign_in(user: User):
    """An administrator's own password and sign-in app are changed where the current
    password is asked for first (``/settings/sign-in``), not here: someone at a session
    left open could otherwise take the account over."""
    if user.id != current_user.id:
        return None
    flash(OWN_SIGN_IN, "warning")
    return redirect(url_for("auth.account"))


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    user = _user_or_404(user_id)
    if (elsewhere := _own_sign_in(user)) is not None:
        return elsewhere
    form = PasswordForm(prefix="pw")
    ok = form.validate()
    if ok and (problem := password_problem(form.password.data, user.email)):
        form.password.errors.append(problem)
        ok = False
    if not ok:
        edit = UserForm(formdata=None, obj=None)
        _prepare(edit)
        _fill(edit, user)
        return render_template(
            "admin/user_form.html",
            form=edit,
            user=user,
            password_form=form,
            **account_state(user),
        ), 400
    user.set_password(form.password.data)
    user.session_version += 1
    sessions.end_all(db.session, user.id, now_utc(), "password_reset")
    _clear_failures(user)
    record("user_password_reset", user)
    db.session.commit()
    flash(f"New password set for {user.email}; they are signed out everywhere.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


# Failed sign-ins are counted over an hour at most; those of the last day are cleared.
FAILURES_LOOKED_BACK = dt.timedelta(days=1)


def _clear_failures(user: User) -> None:
    """Clear the account's paused sign-ins: its account-wide counts, and those of every
    address it failed to sign in from lately (the audit log keeps each failure's
    address), passwords and codes alike. A browser's own count (after its own wrong
    passwords) ends with its window."""
    since = now_utc() - FAILURES_LOOKED_BACK
    addresses = db.session.scalars(
        sa.select(AuditEvent.ip)
        .where(
            AuditEvent.user_id == user.id,
            AuditEvent.action.in_(("sign_in_failed", "sign_in_paused")),
            AuditEvent.at >= since,
            AuditEvent.ip.is_not(None),
        )
        .distinct()
    ).all()
    throttle.clear_account(db.session.connection(), user.email, list(addresses), user.id)


@bp.post("/users/<int:user_id>/unlock")
def unlock_user(user_id: int):
    user = _user_or_404(user_id)
    _clear_failures(user)
    record("user_unlocked", user)
    db.session.commit()
    flash(f"Failed sign-ins for {user.email} are cleared: they can sign in now.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.post("/users/<int:user_id>/sign-in-app")
def reset_sign_in_app(user_id: int):
    user = _user_or_404(user_id)
    if (elsewhere := _own_sign_in(user)) is not None:
        return elsewhere
    mfa.reset(db.session, user)
    user.session_version += 1
    sessions.end_all(db.session, user.id, now_utc(), "sign_in_app_reset")
    record("mfa_reset_by_admin", user)
    db.session.commit()
    flash(
        f"The sign-in app of {user.email} is reset: they set it up again when they next "
        "sign in, and are signed out everywhere.",
        "success",
    )
    return redirect(url_for("admin.edit_user", user_id=user.id))
