"""Referrals: making one, following it, and the provider's worklist."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from ..audit import record, record_now, record_together
from ..auth.access import role_required
from ..choices import CloseReason, DeclineReason, Need, ReferralStatus, Role, Substance
from ..clock import now_utc, today_local
from ..extensions import db
from ..forms import form_errors, options
from ..keyset import COUNT_CAP
from ..models import Referral
from ..references import normalise_reference
from ..workdays import is_overdue, overdue_cutoff, respond_by
from . import bp
from .actions import ACTIONS, StaleReferral, TransitionError, done_message
from .detail import detail_page
from .forms import ReferralSearchForm, given, transition_form
from .lifecycle import apply
from .listing import ReferralSearch, list_referrals
from .loading import referral_page_for, referral_to_change
from .making import ReferralMaker
from .scope import reference_in_scope, referral_for
from .undo import UNDO_WINDOW, made_just_now
from .worklist import SectionPage, Worklist, build_worklist
from .worklist_rows import ID, Links

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
        "undo_window": UNDO_WINDOW,
        "working_days": working_days(),
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
        # A possible duplicate, or a person the service may not take, is a question, not
        # an error in what was typed.
        asked = maker.duplicate is not None or maker.ineligible is not None
        status = 200 if asked and not form_errors(maker.form) else 400
        return render_template("tracking/new.html", maker=maker, form=maker.form), status
    return redirect(url_for("tracking.referral_made", referral_id=maker.made_id))


@bp.get("/referrals/<int:referral_id>/made")
@role_required(Role.CUSTODY)
def referral_made(referral_id: int):
    referral = referral_for(db.session, current_user, referral_id)
    duplicate_of = reference_in_scope(db.session, current_user, referral.possible_duplicate_of_id)
    page = render_template("tracking/made.html", referral=referral, duplicate_of=duplicate_of)
    record("referral_viewed", referral, detail={"page": "made"})
    db.session.commit()
    return page


@bp.get("/referrals/<int:referral_id>")
@role_required(*PERSON_LEVEL_ROLES)
def referral_detail(referral_id: int):
    return detail_page(referral_page_for(db.session, current_user, referral_id))


@bp.post("/referrals/<int:referral_id>/<action>")
@role_required(*PERSON_LEVEL_ROLES)
def change_referral(referral_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    referral = referral_to_change(db.session, current_user, referral_id)
    if current_user.role not in ACTIONS[action].roles:
        abort(403)
    form = transition_form(action)
    back = request.form.get("back")
    if not form.validate():
        message = " ".join(m for _, m in form_errors(form)) or "Check the form and try again."
        referral = referral_page_for(db.session, current_user, referral_id)
        return detail_page(referral, message, action, form, 400)
    try:
        event = apply(
            db.session,
            referral,
            action,
            current_user,
            on=form.on.data or today_local(),
            today=today_local(),
            expected_version=form.version.data,
            reason=given(form, "reason"),
            declined_by=given(form, "declined_by"),
            note=form.note.data,
        )
        # One plain insert, after the change is flushed (a stale version fails here).
        record_together(
            {
                "action": f"referral_{action}",
                "obj": referral,
                "detail": {"to": event.to_status.value, "date": event.event_date.isoformat()},
            }
        )
        # Read before the commit expires them, so the redirect needs no query.
        reference, referral_id = referral.reference, referral.id
        db.session.commit()
    except (StaleReferral, StaleDataError):
        db.session.rollback()
        return _stale(referral_id, action, form.version.data, back)
    except TransitionError as exc:
        db.session.rollback()
        referral = referral_page_for(db.session, current_user, referral_id)
        return detail_page(referral, str(exc), action, form, 400)
    return _done(action, reference, referral_id, back)


def _done(action: str, reference: str, referral_id: int, back: str | None):
    flash(done_message(action, reference), "success")
    if back == "worklist":
        return redirect(worklist_address(request.form))
    return redirect(url_for("tracking.referral_detail", referral_id=referral_id))


def worklist_address(form, key: str | None = None) -> str:
    """The worklist at the page of the section a form was sent from (its ``section``,
    ``after`` and ``before`` fields; ``key`` when it sends none), opened at that
    section, which says what was saved: the provider carries on where they were, not
    at the top of the page."""
    paging = SectionPage.sent(form, key)
    return url_for("tracking.worklist", **paging.values(), _anchor=paging.key)


def _stale(referral_id: int, action: str, version: int | None, back: str | None):
    """The referral changed since the form was shown. When the change is the very one
    this form asks for, made by this user a moment ago (the form sent twice: a double
    click on "Accept today"), the answer is the first one's; otherwise the page says a
    colleague changed it and nothing was saved."""
    db.session.expire_all()
    referral = referral_page_for(db.session, current_user, referral_id)
    if made_just_now(referral, action, current_user, version, now_utc()):
        return _done(action, referral.reference, referral.id, back)
    return detail_page(referral, str(StaleReferral()), status=409)


@bp.route("/referrals", methods=["GET", "POST"])
@role_required(*PERSON_LEVEL_ROLES)
def referral_list():
    # A custody record number is searched for by POST, so that it never appears in an
    # address (and so in browser history or server logs); the other filters also work
    # as links.
    posted = request.method == "POST"
    csrf = posted and current_app.config.get("WTF_CSRF_ENABLED", True)
    form = ReferralSearchForm(request.form if posted else request.args, meta={"csrf": csrf})
    form.status.choices = options([("", "Any status"), *ReferralStatus.choices()])
    given = request.form if posted else request.args
    valid = form.validate() if given else True
    text = (form.reference.data or "").strip()
    reference = normalise_reference(text) if text else None
    if valid and text and not reference and not posted:
        form.reference.errors.append(
            "Search for a custody record number with the Search button on this page."
        )
        valid = False
    # A custody record number can look like a reference ("2024-0815"): only text written
    # as one ("RP-...") is taken for a reference alone; other text is searched for both
    # ways, here, and never put in a link.
    written_as_reference = reference is not None and text.upper().startswith("RP")
    if posted and valid and (not text or written_as_reference):
        # Filters only (or a referral's reference): answered as a link, so that coming
        # back to the list after opening a referral does not ask to send the form again.
        return redirect(url_for("tracking.referral_list", **_filter_args(request.form)))
    search = ReferralSearch(
        reference=reference if valid else None,
        person_ref=text if valid and text and posted else None,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        status=form.status.data if valid else None,
        overdue=bool(form.overdue.data) if valid else False,
        after=form.after.data,
        before=form.before.data,
    )
    found = list_referrals(db.session, current_user, search, _overdue_cutoff())
    page = render_template(
        "tracking/list.html",
        form=form,
        referrals=found.referrals,
        found=found,
        cap=COUNT_CAP,
        detail_url=id_url("tracking.referral_detail", "referral_id"),
        link_args=search.link_args(),
        filtered=any(v for k, v in given.items() if k not in ("after", "before", "csrf_token")),
        paged=bool(search.after or search.before),
    )
    # Written after the page is made, in one statement of its own (no object to flush).
    record_together(
        {
            "action": "referral_searched" if search.person_ref else "referrals_listed",
            "object_type": "referrals",
            "detail": {"ids": [r.id for r in found.referrals], **search.audit_detail()},
        }
    )
    db.session.commit()
    return page, 200 if valid else 400


FILTERS = ("reference", "date_from", "date_to", "status", "overdue")


def _filter_args(given) -> dict[str, str]:
    """The list's filters as typed, for its address."""
    return {name: value for name in FILTERS if (value := (given.get(name) or "").strip())}


def id_url(endpoint: str, name: str) -> str:
    """The address of ``endpoint`` without its trailing id, to add each row's id to:
    ``url_for`` once per page rather than once per row."""
    url = url_for(endpoint, **{name: 0})
    assert url.endswith("/0"), url
    return url[:-1]


def _overdue_cutoff() -> dt.date:
    """Referrals made before this date and still unanswered are overdue today."""
    return overdue_cutoff(today_local(), working_days())


def worklist_links() -> Links:
    """The worklist's addresses, with ``{id}`` for each referral's id (and ``{kind}``
    for an outcome's question): not once a row, nor once a page, but once per process
    for each app and the address it is served under (they come from the code's routes
    alone, and a dozen ``url_for`` cost a tenth of a millisecond every visit)."""
    return _worklist_links(current_app._get_current_object(), request.script_root)


@lru_cache(maxsize=16)
def _worklist_links(app: object, script_root: str) -> Links:
    """``worklist_links`` for ``app`` served under ``script_root`` (the key only: the
    addresses are made by ``url_for`` in the current request)."""
    sentinel = 987654321

    def pattern(endpoint: str, **values) -> str:
        return url_for(endpoint, referral_id=sentinel, **values).replace(str(sentinel), ID)

    return Links(
        detail=pattern("tracking.referral_detail"),
        actions={name: pattern("tracking.change_referral", action=name) for name in ACTIONS},
        outcome=pattern("tracking.record_referral_outcome", kind="KIND").replace("KIND", "{kind}"),
        undo=pattern("tracking.undo_change"),
    )


@bp.get("/worklist")
@role_required(Role.PROVIDER, Role.ADMIN)
def worklist():
    paging = SectionPage.parse(
        request.args.get("section"), request.args.get("after"), request.args.get("before")
    )

    def build(paging: SectionPage) -> Worklist:
        return build_worklist(
            db.session,
            current_user._get_current_object(),
            today_local(),
            now_utc(),
            working_days(),
            worklist_links(),
            paging,
        )

    found = build(paging)
    if paging.after or paging.before:
        # The page asked for is empty while the section is not (its last referral was
        # just accepted, say): the section from its start.
        shown = {s.key: (s.count, s.referrals) for s in found.sections}
        shown[found.outcomes.key] = (found.outcomes.count, found.outcomes.referrals)
        count, referrals = shown.get(paging.key, (0, []))
        if count and not referrals:
            found = build(SectionPage(paging.key))
    page = render_template("tracking/worklist.html", worklist=found, today=today_local())
    shown = [r.id for section in found.sections for r in section.referrals]
    shown += [r.id for r in found.outcomes.referrals]
    record_now("worklist_viewed", object_type="referrals", detail={"ids": shown})
    db.session.commit()
    return page
