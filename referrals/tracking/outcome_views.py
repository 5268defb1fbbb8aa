"""Recording outcomes after treatment starts, from the worklist or a referral's page."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from wtforms import IntegerField, RadioField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..audit import record
from ..auth.access import role_required
from ..choices import Role
from ..clock import now_utc, today_local
from ..extensions import db
from ..forms import UKDateField, options
from . import bp
from .detail import detail_page
from .lifecycle import StaleReferral, TransitionError, record_outcome
from .loading import referral_page_for
from .outcomes import OUTCOME_CHOICES, OUTCOME_TITLES, outcome_label, questions
from .scope import referral_for
from .undo import sent_again
from .views import worklist_address
from .worklist import OUTCOMES, SectionPage


class OutcomeForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    value = RadioField("Outcome", choices=[], validators=[InputRequired("Choose an answer.")])
    on = UKDateField("Date", validators=[Optional()])
    note = TextAreaField(
        "Note (optional)",
        validators=[Optional(), Length(max=2000, message="Keep the note under 2,000 characters.")],
    )


def outcome_form(referral, question, today) -> OutcomeForm:
    """A blank form for one question, its fields named for the referral and question so
    that many can share a page."""
    form = OutcomeForm(prefix=f"o{referral.id}-{question.kind}", formdata=None)
    form.value.choices = options(question.choices)
    form.value.label.text = question.title
    form.version.data = referral.version
    form.on.data = today
    return form


@bp.app_context_processor
def outcome_helpers() -> dict:
    def asked(referral, failed: str | None = None, failed_form=None):
        """The questions asked now, each with its blank form, or with the refused one
        (``failed`` is "outcome-<kind>") as it was sent, to be put right."""
        today = today_local()
        found = []
        for question in questions(referral, current_user, today):
            if failed == f"outcome-{question.kind}" and failed_form is not None:
                failed_form.value.label.text = question.title
                found.append((question, failed_form))
            else:
                found.append((question, outcome_form(referral, question, today)))
        return found

    return {
        "outcome_questions": asked,
        "outcome_label": outcome_label,
    }


@bp.post("/referrals/<int:referral_id>/outcome/<kind>")
@role_required(Role.PROVIDER, Role.ADMIN)
def record_referral_outcome(referral_id: int, kind: str):
    if kind not in OUTCOME_CHOICES:
        abort(404)
    referral = referral_for(db.session, current_user, referral_id)
    form = OutcomeForm(prefix=f"o{referral.id}-{kind}")
    form.value.choices = options(OUTCOME_CHOICES[kind].choices())
    to_worklist = request.form.get("back") == "worklist"
    back = (
        worklist_address(request.form, OUTCOMES)
        if to_worklist
        else url_for("tracking.referral_detail", referral_id=referral.id)
    )
    if not form.validate():
        messages = " ".join(m for field in form for m in field.errors)
        return _refused(referral_id, kind, form, messages, to_worklist)
    try:
        event = record_outcome(
            db.session,
            referral,
            kind,
            form.value.data,
            current_user,
            on=form.on.data or today_local(),
            today=today_local(),
            expected_version=form.version.data,
            note=form.note.data,
        )
        record(
            f"referral_outcome_{kind}",
            referral,
            detail={"outcome": form.value.data, "date": event.event_date.isoformat()},
        )
        db.session.commit()
    except (StaleReferral, StaleDataError):
        db.session.rollback()
        db.session.expire_all()
        referral = referral_for(db.session, current_user, referral_id)
        asked = f"{kind}:{form.value.data}"
        if sent_again(
            referral, current_user, form.version.data, now_utc(), lambda e: e.reason == asked
        ):
            flash(f"{referral.reference}: {outcome_label(asked)} saved.", "success")
        else:
            # A colleague's change came first: the page as it is now, with the message.
            referral = referral_page_for(db.session, current_user, referral_id)
            return detail_page(referral, str(StaleReferral()), status=409, **_return(to_worklist))
        return redirect(back)
    except TransitionError as exc:
        db.session.rollback()
        return _refused(referral_id, kind, form, str(exc), to_worklist)
    flash(f"{referral.reference}: {outcome_label(event.reason)} saved.", "success")
    return redirect(back)


def _refused(referral_id: int, kind: str, form: OutcomeForm, message: str, to_worklist: bool):
    """The referral's page again, with the refused answer and date as they were sent
    and what is wrong beside them (nothing saved, and ``to_worklist``: saving it
    then returns to the worklist, as it would have)."""
    referral = referral_page_for(db.session, current_user, referral_id)
    message = f"{OUTCOME_TITLES[kind]}: {message}"
    return detail_page(referral, message, f"outcome-{kind}", form, 400, **_return(to_worklist))


def _return(to_worklist: bool) -> dict:
    """Where the outcome forms of a page shown again return once saved: the page of the
    worklist's outcomes the form was sent from, or the referral's page."""
    if not to_worklist:
        return {"back": "detail"}
    return {"back": "worklist", "worklist_at": SectionPage.sent(request.form, OUTCOMES).values()}
