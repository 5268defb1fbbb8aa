"""Following a referral through: contact attempts, updates from the referrer, undo,
passing it on, and the printable slip for the person."""

from __future__ import annotations

import segno
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm.exc import StaleDataError

from ..audit import record
from ..auth.access import role_required
from ..choices import CloseReason, Role
from ..clock import now_local, now_utc, today_local
from ..directory.hours import week
from ..extensions import db
from ..forms import form_errors
from ..models import FormSubmission, ServiceType
from ..once import commit_once, done, sent
from . import bp
from .actions import StaleReferral, TransitionError
from .detail import detail_page
from .followup import add_update, log_attempt
from .forms import ContactAttemptForm, ReferOnForm, UpdateForm, VersionForm
from .lifecycle import refer_on_problem
from .refer_on import candidates, refer_on
from .scope import reference_in_scope, referral_for
from .undo import UNDO_REASON, passed_on_to, sent_again, undo

PERSON_LEVEL_ROLES = (Role.CUSTODY, Role.PROVIDER, Role.ADMIN)
ATTEMPT_LOGGED = "Contact attempt logged for referral {reference}."
UPDATE_SENT = "Update added to referral {reference}; the service has been told."


def _first_error(form) -> str:
    return " ".join(m for _, m in form_errors(form)) or "Check the form and try again."


def _saved(referral_id: int, said: str, reference: str):
    flash(said.format(reference=reference), "success")
    return redirect(url_for("tracking.referral_detail", referral_id=referral_id) + "#timeline")


def _answered(earlier: FormSubmission, said: str, referral_id: int):
    """A form saved already, sent again, answered as it was the first time: about the
    referral it was saved for, which is not the one in the URL when its token was sent
    by hand with another referral's form."""
    reference = reference_in_scope(db.session, current_user, earlier.object_id)
    if reference is None:  # not this user's save: say nothing of it
        flash("That form was sent already, so nothing more was saved.", "success")
        return redirect(url_for("tracking.referral_detail", referral_id=referral_id))
    return _saved(earlier.object_id, said, reference)


def _back(referral_id: int):
    if request.form.get("back") == "worklist":
        return redirect(url_for("tracking.worklist"))
    return redirect(url_for("tracking.referral_detail", referral_id=referral_id))


@bp.post("/referrals/<int:referral_id>/attempts")
@role_required(Role.PROVIDER, Role.ADMIN)
def log_contact_attempt(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    form = ContactAttemptForm()
    if not form.validate():
        return detail_page(referral, _first_error(form), "attempt", form, 400)
    try:
        log_attempt(
            db.session,
            referral,
            current_user._get_current_object(),
            attempted_on=form.attempted_on.data,
            method=form.method.data,
            outcome=form.outcome.data,
            note=form.note.data,
            today=today_local(),
        )
    except TransitionError as exc:
        db.session.rollback()
        return detail_page(referral, str(exc), "attempt", form, 400)
    # The same form sent twice (a double click) logs one attempt; both are told it is.
    earlier = commit_once(
        db.session, form.form_token.data, "contact_attempt", referral.id, sent(current_user.id)
    )
    if earlier is not None:
        return _answered(earlier, ATTEMPT_LOGGED, referral.id)
    return _saved(referral.id, ATTEMPT_LOGGED, referral.reference)


@bp.post("/referrals/<int:referral_id>/updates")
@role_required(Role.CUSTODY, Role.ADMIN)
def add_referrer_update(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    form = UpdateForm()
    if not form.validate():
        return detail_page(referral, _first_error(form), "update", form, 400)
    # The same form sent twice sends one update, and tells the service once. Sent again
    # after the first was saved, its page is out of date by the first's own new number.
    token, digest = form.form_token.data, sent(current_user.id)
    if (earlier := done(db.session, token, "referrer_update", digest)) is not None:
        return _answered(earlier, UPDATE_SENT, referral.id)
    try:
        add_update(
            db.session,
            referral,
            current_user._get_current_object(),
            release_on=form.release_on.data,
            new_phone=form.new_phone.data,
            message=form.message.data,
            today=today_local(),
            expected_version=form.version.data,
        )
        earlier = commit_once(db.session, token, "referrer_update", referral.id, digest)
    except (StaleReferral, StaleDataError):
        db.session.rollback()
        db.session.expire_all()
        if (earlier := done(db.session, token, "referrer_update", digest)) is not None:
            return _answered(earlier, UPDATE_SENT, referral.id)  # both sent at once
        referral = referral_for(db.session, current_user, referral_id)
        return detail_page(referral, str(StaleReferral()), "update", form, 409)
    except TransitionError as exc:
        db.session.rollback()
        return detail_page(referral, str(exc), "update", form, 400)
    if earlier is not None:
        return _answered(earlier, UPDATE_SENT, referral.id)
    return _saved(referral.id, UPDATE_SENT, referral.reference)


@bp.post("/referrals/<int:referral_id>/undo")
@role_required(*PERSON_LEVEL_ROLES)
def undo_change(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    form = VersionForm()
    if not form.validate():
        return detail_page(referral, "The page was out of date. Try again.", status=400)
    try:
        event = undo(
            db.session,
            referral,
            current_user._get_current_object(),
            now=now_utc(),
            today=today_local(),
            expected_version=form.version.data,
        )
        record("referral_change_undone", referral, detail={"undid_event": event.undoes_event_id})
        db.session.commit()
    except (StaleReferral, StaleDataError):
        db.session.rollback()
        db.session.expire_all()
        referral = referral_for(db.session, current_user, referral_id)
        if not sent_again(referral, current_user, form.version.data, now_utc(), _is_undo):
            return detail_page(referral, str(StaleReferral()), status=409)
    except TransitionError as exc:
        db.session.rollback()
        return detail_page(referral, str(exc), status=400)
    message = f"Undone: referral {referral.reference} is back to “{referral.status.label}”."
    if _undid_passing_on(referral) and (new := passed_on_to(db.session, referral)):
        message += f" The referral it was passed on to, {new.reference}, is withdrawn."
    flash(message, "success")
    return _back(referral.id)


def _undid_passing_on(referral) -> bool:
    """Whether the referral's latest undo took back passing it on."""
    events = referral.events
    undo_event = next((e for e in reversed(events) if e.reason == UNDO_REASON), None)
    return undo_event is not None and any(
        e.id == undo_event.undoes_event_id and _is_passing_on(e) for e in events
    )


def _is_undo(event) -> bool:
    return event.reason == UNDO_REASON


def _is_passing_on(event) -> bool:
    return event.reason == CloseReason.REFERRED_ON


@bp.route("/referrals/<int:referral_id>/refer-on", methods=["GET", "POST"])
@role_required(*PERSON_LEVEL_ROLES)
def refer_on_page(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    user = current_user._get_current_object()
    form = ReferOnForm()
    # Refused at once (before any search), unless the form was shown before the referral
    # last changed: then the lifecycle tells a double click (passed on a moment ago) from
    # a colleague's change.
    problem = refer_on_problem(referral, user)
    if problem and (request.method == "GET" or form.version.data == referral.version):
        return detail_page(referral, problem, status=403 if request.method == "GET" else 400)
    type_code = (request.values.get("type") or "").strip() or None
    hits = candidates(db.session, referral, user, type_code, now_local())
    form.service.choices = [(str(h.service.id), h.service.name) for h in hits]
    error, status = None, 200
    if request.method == "GET":
        form.version.data = referral.version
    elif not form.validate():
        error, status = _first_error(form), 400
    else:
        try:
            new = refer_on(
                db.session,
                referral,
                user,
                service_id=form.service.data,
                consent=bool(form.consent.data),
                note=form.note.data,
                expected_version=form.version.data,
                today=today_local(),
                now=now_utc(),
            )
            db.session.commit()
        except (StaleReferral, StaleDataError):
            db.session.rollback()
            db.session.expire_all()
            referral = referral_for(db.session, current_user, referral_id)
            if sent_again(referral, user, form.version.data, now_utc(), _is_passing_on):
                flash(f"Referral {referral.reference} passed on.", "success")
                return redirect(url_for("tracking.referral_detail", referral_id=referral.id))
            return detail_page(referral, str(StaleReferral()), status=409)
        except TransitionError as exc:
            db.session.rollback()
            error, status = str(exc), 400
        else:
            flash(
                f"Referral {referral.reference} passed on: the new referral is {new.reference}.",
                "success",
            )
            if user.role == Role.PROVIDER:  # the new service may be another organisation's
                return redirect(url_for("tracking.referral_detail", referral_id=referral.id))
            return redirect(url_for("tracking.referral_detail", referral_id=new.id))
    types = db.session.scalars(sa.select(ServiceType).order_by(ServiceType.sort_order)).all()
    return render_template(
        "tracking/refer_on.html",
        referral=referral,
        form=form,
        hits=hits,
        types=types,
        type_code=type_code,
        error=error,
    ), status


@bp.get("/referrals/<int:referral_id>/slip")
@role_required(Role.CUSTODY, Role.ADMIN)
def referral_slip(referral_id: int):
    """An A5 slip for the person: the service, how to reach it, what happens next."""
    referral = referral_for(db.session, current_user, referral_id)
    if referral.service is None:  # pragma: no cover - every referral has a service
        abort(404)
    link = url_for("directory.service_detail", service_id=referral.service.id, _external=True)
    qr = Markup(segno.make(link, error="m").svg_inline(scale=3, omitsize=False))  # noqa: S704
    return render_template(
        "tracking/slip.html",
        referral=referral,
        link=link,
        qr=qr,
        hours=week(referral.service.opening_hours),
    )
