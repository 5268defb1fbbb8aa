"""``/accessibility``, ``/privacy``, ``/cookies`` and ``/contact``: open to everyone."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import EmailField, HiddenField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..clock import now_utc
from ..extensions import db
from ..once import OnceForm, commit_once, sent
from ..security import limiter
from . import bp
from .feedback import from_page, send_feedback
from .statement import load_checks


class FeedbackForm(OnceForm):
    message = TextAreaField(
        "What would you like to tell us?",
        validators=[
            DataRequired("Enter your feedback."),
            Length(max=3000, message="Keep your feedback under 3,000 characters."),
        ],
    )
    reply_to = EmailField(
        "Email address (optional)",
        validators=[
            Optional(),
            Email("Enter an email address like name@example.org, or leave it empty."),
            Length(max=254, message="Enter an email address under 254 characters."),
        ],
    )
    page = HiddenField()


def _settings() -> dict:
    config = current_app.config
    return {
        "operator": config["OPERATOR_NAME"],
        "contact_email": config["CONTACT_EMAIL"],
        "data_protection_email": config["DATA_PROTECTION_EMAIL"],
        "retention_days": config["PERSONAL_DATA_RETENTION_DAYS"],
        "contact_retention_days": config["PROBLEM_CONTACT_RETENTION_DAYS"],
        "outbox_retention_days": config["OUTBOX_RETENTION_DAYS"],
        "idle_minutes": config["SESSION_IDLE_MINUTES"],
    }


@bp.get("/accessibility")
def accessibility():
    return render_template("about/accessibility.html", checks=load_checks(), **_settings())


@bp.get("/privacy")
def privacy():
    return render_template("about/privacy.html", **_settings())


@bp.get("/cookies")
def cookies():
    return render_template(
        "about/cookies.html", cookie=current_app.config["SESSION_COOKIE_NAME"], **_settings()
    )


@bp.route("/contact", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"], methods=["POST"])
def contact():
    form = FeedbackForm()
    if not form.is_submitted():
        form.page.data = from_page(request.args.get("from"))
    if form.validate_on_submit():
        send_feedback(
            db.session,
            message=form.message.data,
            reply_to=form.reply_to.data,
            page=form.page.data,
            role=current_user.role.value if current_user.is_authenticated else None,
            now=now_utc(),
        )
        commit_once(db.session, form.form_token.data, "feedback", digest=sent(None))
        flash(
            "Thank you. Your feedback has been sent to the team that runs this service.", "success"
        )
        return redirect(url_for("about.contact", **{"from": from_page(form.page.data)}))
    status = 400 if form.is_submitted() else 200
    back = from_page(form.page.data)
    return render_template("about/contact.html", form=form, back=back, **_settings()), status
