"""Referrals: making one, following it, and the provider's worklist."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..audit import record
from ..auth.access import role_required
from ..choices import CloseReason, DeclineReason, Need, ReferralStatus, Role, Substance
from ..clock import today_local
from ..extensions import db
from ..forms import form_errors, options
from ..models import Referral
from ..references import normalise_reference
from . import bp
from .forms import ReferralSearchForm, TransitionForm, reason_choices
from .lifecycle import ACTIONS, StaleReferral, TransitionError, allowed_actions, apply
from .making import ReferralMaker
from .scope import in_scope, referral_for
from .workdays import is_overdue, respond_by

PER_PAGE = 25
PERSON_LEVEL_ROLES = (Role.CUSTODY, Role.PROVIDER, Role.ADMIN)


def working_days() -> int:
    return current_app.config["OVERDUE_WORKING_DAYS"]


@bp.app_context_processor
def tracking_helpers() -> dict:
    def overdue(referral: Referral) -> bool:
        return is_overdue(referral.status, referral.referred_on, today_local(), working_days())

    def due(referral: Referral) -> dt.date:
        return respond_by(referral.referred_on, working_days())

    def coded_list(codes: str, kind: str) -> str:
        choice = {"substance": Substance, "need": Need}[kind]
        labels = {m.value: m.label for m in choice}
        return ", ".join(labels.get(c, c) for c in (codes or "").split(",") if c) or "None given"

    def reason_label(event) -> str:
        for choice in (CloseReason, DeclineReason):
            if event.reason in choice.values():
                return choice(event.reason).label
        return event.reason or ""

    return {
        "overdue": overdue,
        "respond_by": due,
        "coded_list": coded_list,
        "reason_label": reason_label,
    }


@bp.route("/referrals/new", methods=["GET", "POST"])
@role_required(Role.CUSTODY)
def new_referral():
    maker = ReferralMaker(db.session, current_user._get_current_object(), today_local())
    if request.method == "GET":
        maker.start(request.args.get("service"), request.args.get("contact"))
        return render_template("tracking/new.html", maker=maker, form=maker.form)
    if "lookup" in request.form:
        maker.look_up()
        return render_template("tracking/new.html", maker=maker, form=maker.form)
    referral = maker.submit()
    if referral is None:
        return render_template("tracking/new.html", maker=maker, form=maker.form), 400
    return redirect(url_for("tracking.referral_made", referral_id=referral.id))


@bp.get("/referrals/<int:referral_id>/made")
@role_required(Role.CUSTODY)
def referral_made(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    return render_template("tracking/made.html", referral=referral)


def _transition_forms(referral: Referral) -> dict[str, TransitionForm]:
    forms = {}
    for action in allowed_actions(referral, current_user):
        form = TransitionForm(prefix=action.name, formdata=None)
        form.version.data = referral.version
        form.on.data = today_local()
        form.on.label.text = action.date_label
        form.reason.choices = reason_choices(action.name)
        if current_user.role == Role.CUSTODY and action.name == "close":
            form.reason.choices = options([("entered_in_error", "Entered in error")])
        forms[action.name] = form
    return forms


@bp.get("/referrals/<int:referral_id>")
@role_required(*PERSON_LEVEL_ROLES)
def referral_detail(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    record("referral_viewed", referral)
    db.session.commit()
    return _detail_page(referral)


def _detail_page(
    referral: Referral,
    error: str | None = None,
    failed: str | None = None,
    failed_form: TransitionForm | None = None,
    status: int = 200,
):
    forms = _transition_forms(referral)
    if failed and failed_form is not None and failed in forms:
        failed_form.version.data = referral.version
        failed_form.reason.choices = forms[failed].reason.choices
        failed_form.on.label.text = ACTIONS[failed].date_label
        forms[failed] = failed_form
    return (
        render_template(
            "tracking/detail.html",
            referral=referral,
            forms=forms,
            actions=ACTIONS,
            error=error,
            failed=failed,
        ),
        status,
    )


@bp.post("/referrals/<int:referral_id>/<action>")
@role_required(*PERSON_LEVEL_ROLES)
def change_referral(referral_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    referral = referral_for(db.session, current_user, referral_id)
    if current_user.role not in ACTIONS[action].roles:
        abort(403)
    form = TransitionForm(prefix=action)
    form.reason.choices = reason_choices(action)
    back = request.form.get("back")
    if not form.validate():
        message = " ".join(m for _, m in form_errors(form)) or "Check the form and try again."
        return _detail_page(referral, message, action, form, 400)
    try:
        event = apply(
            db.session,
            referral,
            action,
            current_user,
            on=form.on.data or today_local(),
            today=today_local(),
            expected_version=form.version.data,
            reason=form.reason.data or None,
            declined_by=form.declined_by.data or None,
            note=form.note.data,
        )
        record(
            f"referral_{action}",
            referral,
            detail={"to": event.to_status.value, "date": event.event_date.isoformat()},
        )
        db.session.commit()
    except StaleReferral as exc:
        db.session.rollback()
        return _stale(referral_id, str(exc))
    except StaleDataError:
        db.session.rollback()
        return _stale(referral_id, str(StaleReferral()))
    except TransitionError as exc:
        db.session.rollback()
        referral = referral_for(db.session, current_user, referral_id)
        return _detail_page(referral, str(exc), action, form, 400)
    flash(f"{referral.reference}: {ACTIONS[action].label.lower()} saved.", "success")
    if back == "worklist":
        return redirect(url_for("tracking.worklist"))
    return redirect(url_for("tracking.referral_detail", referral_id=referral.id))


def _stale(referral_id: int, message: str):
    db.session.expire_all()
    referral = referral_for(db.session, current_user, referral_id)
    return _detail_page(referral, message, status=409)


@bp.get("/referrals")
@role_required(*PERSON_LEVEL_ROLES)
def referral_list():
    form = ReferralSearchForm(request.args)
    form.status.choices = options([("", "Any status"), *ReferralStatus.choices()])
    query = sa.select(Referral).where(in_scope(current_user))
    valid = form.validate() if request.args else True
    if valid:
        text = (form.reference.data or "").strip()
        if text:
            reference = normalise_reference(text)
            query = query.where(
                sa.or_(Referral.reference == reference, Referral.person_ref == text)
                if reference
                else Referral.person_ref == text
            )
        if form.date_from.data:
            query = query.where(Referral.referred_on >= form.date_from.data)
        if form.date_to.data:
            query = query.where(Referral.referred_on <= form.date_to.data)
        if form.status.data:
            query = query.where(Referral.status == form.status.data)
        if form.overdue.data:
            query = query.where(Referral.status == ReferralStatus.MADE).where(
                Referral.referred_on < _overdue_cutoff()
            )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(form.page.data or 1, 1), pages)
    referrals = db.session.scalars(
        query.options(selectinload(Referral.service), selectinload(Referral.council_area))
        .order_by(Referral.made_at.desc(), Referral.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return (
        render_template(
            "tracking/list.html",
            form=form,
            referrals=referrals,
            total=total,
            page=page,
            pages=pages,
            filtered=any(value for key, value in request.args.items() if key != "page"),
        ),
        200 if valid else 400,
    )


def _overdue_cutoff() -> dt.date:
    """Referrals made before this date and still unanswered are overdue today."""
    today = today_local()
    day = today
    while respond_by(day, working_days()) >= today:
        day -= dt.timedelta(days=1)
    return day + dt.timedelta(days=1)


@bp.get("/worklist")
@role_required(Role.PROVIDER, Role.ADMIN)
def worklist():
    base = (
        sa.select(Referral)
        .where(in_scope(current_user))
        .options(
            selectinload(Referral.service),
            selectinload(Referral.council_area),
            selectinload(Referral.custody_suite),
        )
        .order_by(Referral.referred_on, Referral.id)
    )
    cutoff = _overdue_cutoff()
    made = base.where(Referral.status == ReferralStatus.MADE)
    sections = [
        (
            "overdue",
            "Overdue: no response within 5 working days",
            made.where(Referral.referred_on < cutoff),
            "accept",
        ),
        ("new", "New: awaiting acceptance", made.where(Referral.referred_on >= cutoff), "accept"),
        (
            "accepted",
            "Awaiting first attendance",
            base.where(Referral.status == ReferralStatus.ACCEPTED),
            "attend",
        ),
        (
            "engaged",
            "Awaiting treatment start",
            base.where(Referral.status == ReferralStatus.ENGAGED),
            "start_treatment",
        ),
    ]
    lists = []
    for key, title, query, action in sections:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
        items = db.session.scalars(query.limit(100)).all()
        lists.append(
            {
                "key": key,
                "title": title,
                "count": count,
                "referrals": items,
                "action": ACTIONS[action],
            }
        )
    return render_template("tracking/worklist.html", lists=lists, today=today_local())
