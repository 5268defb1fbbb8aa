"""``/settings`` (each person's messages) and ``/admin/outbox`` (failed deliveries)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..audit import record
from ..auth.access import role_required
from ..choices import Role
from ..clock import now_utc
from ..database import as_id
from ..extensions import db
from . import bp
from .outbox_admin import outbox_view
from .preferences import current_choices, save_choices
from .sender import retry


class PostForm(FlaskForm):
    """A form with nothing but its CSRF token; the fields are read from the request."""


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    user = current_user._get_current_object()
    form = PostForm()
    if form.validate_on_submit():
        changes = save_choices(db.session, user, set(request.form.getlist("kinds")))
        if changes:
            record("notification_preferences_changed", user, detail=changes)
        db.session.commit()
        flash("Your choice of messages is saved.", "success")
        return redirect(url_for("notifications.settings"))
    status = 400 if form.is_submitted() else 200
    choices = current_choices(db.session, user)
    return render_template("notifications/settings.html", form=form, choices=choices), status


@bp.get("/admin/outbox")
@role_required(Role.ADMIN)
def outbox():
    return render_template(
        "notifications/outbox.html", view=outbox_view(db.session, now_utc()), form=PostForm()
    )


@bp.post("/admin/outbox/retry")
@role_required(Role.ADMIN)
def retry_failed():
    form = PostForm()
    if not form.validate_on_submit():
        flash("The page was out of date. Try again.", "error")
        return redirect(url_for("notifications.outbox"))
    if request.form.get("all"):
        ids = None
    else:
        ids = [i for i in (as_id(v) for v in request.form.getlist("id")) if i is not None]
    count = retry(db.session, ids)
    record("notifications_retried", object_type="notifications", detail={"ids": ids or "all"})
    db.session.commit()
    flash(
        f"{count} message{'s' if count != 1 else ''} will be sent again shortly."
        if count
        else "Nothing to try again: those messages are no longer failed.",
        "success" if count else "warning",
    )
    return redirect(url_for("notifications.outbox"))
