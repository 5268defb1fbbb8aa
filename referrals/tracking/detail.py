"""The page of one referral: its state, what the user may do next, and its timeline of
status changes, contact attempts and updates from the referrer."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..audit import record_together
from ..choices import CloseReason, Role
from ..clock import now_utc, today_local
from ..extensions import db
from ..forms import options
from ..models import Referral
from .actions import ACTIONS, ENTERED_IN_ERROR_ROLES, OPEN_STATES, allowed_actions
from .followup import follow_through
from .forms import (
    ContactAttemptForm,
    DatedChangeForm,
    UpdateForm,
    VersionForm,
    transition_form,
)
from .lifecycle import change_label, last_change, undo_problem, undone_ids
from .loading import passed_on_from
from .scope import reference_in_scope


def transition_forms(referral: Referral) -> dict[str, DatedChangeForm]:
    """The form of each change the user may make now, each with only the fields it
    shows."""
    forms = {}
    for action in allowed_actions(referral, current_user):
        form = transition_form(action.name, formdata=None)
        form.version.data = referral.version
        form.on.data = today_local()
        form.on.label.text = action.date_label
        if current_user.role == Role.CUSTODY and action.name == "close":
            form.reason.choices = options([("entered_in_error", "Entered in error")])
        elif action.name == "close" and current_user.role not in ENTERED_IN_ERROR_ROLES:
            form.reason.choices = [
                c for c in form.reason.choices if c.value != CloseReason.ENTERED_IN_ERROR
            ]
        forms[action.name] = form
    return forms


def detail_page(
    referral: Referral,
    error: str | None = None,
    failed: str | None = None,
    failed_form=None,
    status: int = 200,
):
    """Render the referral's page; ``failed`` names the form (an action, "attempt",
    "update") whose submission is shown again with ``error``.

    Every showing of a person's record is audited, the page shown again after a refused
    change as much as the page asked for: the view's audit row is written after the page
    is made (so that committing does not expire what it shows) and committed. Callers
    showing it after a refused change have rolled the change back first."""
    forms = transition_forms(referral)
    if failed in forms and failed_form is not None:
        failed_form.version.data = referral.version
        if "reason" in failed_form:
            failed_form.reason.choices = forms[failed].reason.choices
        failed_form.on.label.text = ACTIONS[failed].date_label
        forms[failed] = failed_form
    follow, entries = follow_through(db.session, referral)
    if follow.suggest_closing and "close" in forms and current_user.role != Role.CUSTODY:
        forms["close"].reason.data = CloseReason.NOT_CONTACTABLE.value
    is_open = referral.status in OPEN_STATES
    attempt_form = update_form = None
    if is_open and current_user.role in (Role.PROVIDER, Role.ADMIN):
        attempt_form = failed_form if failed == "attempt" else ContactAttemptForm(formdata=None)
        if attempt_form.attempted_on.data is None:
            attempt_form.attempted_on.data = today_local()
    if is_open and current_user.role in (Role.CUSTODY, Role.ADMIN):
        update_form = failed_form if failed == "update" else UpdateForm(formdata=None)
    undo_form = undo_event = None
    undone = undone_ids(referral.events)
    if undo_problem(referral, current_user, now_utc()) is None:
        undo_form = VersionForm(formdata=None)
        undo_form.version.data = referral.version
        undo_event = last_change(referral)
    # Only passing a referral on links a new one to it, and that closes it as "referred
    # on" for good (it cannot be undone or reopened): other referrals need not look.
    passed_on_to = []
    if referral.close_reason == CloseReason.REFERRED_ON:
        passed_on_to = passed_on_from(db.session, current_user, referral.id)
    page = render_template(
        "tracking/detail.html",
        referral=referral,
        forms=forms,
        actions=ACTIONS,
        error=error,
        failed=failed,
        timeline=entries,
        follow=follow,
        attempt_form=attempt_form,
        update_form=update_form,
        undo_form=undo_form,
        undo_event=undo_event,
        undo_label=change_label(undo_event) if undo_event else None,
        # What each undo took back, in the words it was recorded in.
        undone_labels={e.id: change_label(e) for e in referral.events if e.id in undone},
        can_refer_on=is_open,
        passed_on_to=passed_on_to,
        duplicate_of=reference_in_scope(
            db.session, current_user, referral.possible_duplicate_of_id
        ),
    )
    viewed = {"action": "referral_viewed", "obj": referral}
    if status != 200:
        viewed["detail"] = {"shown_after": "refused change"}
    record_together(viewed)
    db.session.commit()
    return page, status
