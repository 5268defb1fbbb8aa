"""The page of one referral: its state, what the user may do next, and its timeline of
status changes, contact attempts and updates from the referrer."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from ..audit import record_together
from ..choices import CloseReason, ReferralStatus, Role
from ..clock import now_utc, today_local
from ..extensions import db
from ..models import Referral
from .actions import ACTIONS, OPEN_STATES, allowed_actions
from .detail_forms import (
    attempt_fields,
    blank_attempt,
    blank_update,
    change_forms,
    undo_fields,
    update_fields,
)
from .followup import follow_through
from .lifecycle import refer_on_problem
from .loading import passed_on_from
from .scope import reference_in_scope
from .undo import change_label, last_change, undo_problem, undone_ids


def detail_page(
    referral: Referral,
    error: str | None = None,
    failed: str | None = None,
    failed_form=None,
    status: int = 200,
    back: str = "detail",
    worklist_at: dict[str, str] | None = None,
):
    """Render the referral's page; ``failed`` names the form (an action, "attempt",
    "update", or "outcome-<kind>" for a question after treatment starts) whose
    submission is shown again with ``error``; ``back`` is where the outcome forms return
    once saved ("worklist" when the refused one was sent from there, ``worklist_at``
    the fields that bring it back to the page of the worklist it was sent from).

    Every showing of a person's record is audited, the page shown again after a refused
    change as much as the page asked for: the view's audit row is written after the page
    is made (so that committing does not expire what it shows) and committed. Callers
    showing it after a refused change have rolled the change back first."""
    role = current_user.role
    today = today_local()
    follow, entries = follow_through(db.session, referral)
    # As the page's notice and the worklist: only while the person has not attended.
    suggest = (
        follow.suggest_closing
        and role != Role.CUSTODY
        and referral.status in (ReferralStatus.MADE, ReferralStatus.ACCEPTED)
    )
    forms = change_forms(
        referral,
        allowed_actions(referral, current_user),
        role,
        today,
        closing_reason=CloseReason.NOT_CONTACTABLE.value if suggest else None,
        failed=failed,
        failed_form=failed_form,
    )
    # Nothing more is added to a referral once erased (only an undo of an earlier release
    # left one open).
    is_open = referral.status in OPEN_STATES and referral.personal_data_erased_at is None
    attempt_form = update_form = None
    if is_open and role in (Role.PROVIDER, Role.ADMIN):
        if failed == "attempt":
            if failed_form.attempted_on.data is None:
                failed_form.attempted_on.data = today
            attempt_form = attempt_fields(failed_form)
        else:
            attempt_form = blank_attempt(today)
    if is_open and role in (Role.CUSTODY, Role.ADMIN):
        update_form = update_fields(failed_form) if failed == "update" else blank_update(today)
    undo_form = undo_event = None
    undone = undone_ids(referral.events)
    if undo_problem(referral, current_user, now_utc()) is None:
        undo_form = undo_fields(referral.version)
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
        failed_form=failed_form,
        outcome_back="worklist" if back == "worklist" else "detail",
        worklist_at=worklist_at,
        timeline=entries,
        follow=follow,
        attempt_form=attempt_form,
        update_form=update_form,
        undo_form=undo_form,
        undo_event=undo_event,
        undo_label=change_label(undo_event) if undo_event else None,
        # What each undo took back, in the words it was recorded in.
        undone_labels={e.id: change_label(e) for e in referral.events if e.id in undone},
        can_refer_on=refer_on_problem(referral, current_user) is None,
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
