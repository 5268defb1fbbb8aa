"""The referral lifecycle (DESIGN.md section 5), enforced in one place.

    made -> accepted -> engaged -> treatment_started -> closed
      \\-> declined                any open state -> closed
    closed or declined -> reopened to where it was (administrators only)

Only the referring custody suite (before the service responds) and administrators may
close a referral as entered in error, since that removes it from every measure.

Every change checks who may make it, that it is allowed from the current state, that
its date is not in the future, not before the referral and not before the stage
before it, and that nobody else changed the referral since the form was shown. Every
change writes a ``ReferralEvent``; events are never changed or deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..choices import CloseReason, DeclinedBy, DeclineReason, ReferralStatus, Role
from ..models import Referral, ReferralEvent, User
from ..templating import format_date

S = ReferralStatus
OPEN_STATES = frozenset({S.MADE, S.ACCEPTED, S.ENGAGED, S.TREATMENT_STARTED})
CLOSED_STATES = frozenset({S.CLOSED, S.DECLINED})


class TransitionError(ValueError):
    """The change is not allowed; the message says why, for the person trying it."""


class StaleReferral(TransitionError):
    """Someone else changed the referral after the form was shown."""

    def __init__(self) -> None:
        super().__init__(
            "This referral was changed by someone else while you were looking at it, so "
            "your change was not saved. Here is the current state: check it and try again "
            "if your change is still needed."
        )


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    sources: frozenset[ReferralStatus]
    target: ReferralStatus | None  # None: back to the state before closing (reopen)
    roles: frozenset[str]
    date_label: str


ACTIONS = {
    a.name: a
    for a in [
        Action(
            "accept",
            "Accept",
            frozenset({S.MADE}),
            S.ACCEPTED,
            frozenset({Role.PROVIDER, Role.ADMIN}),
            "Date accepted",
        ),
        Action(
            "decline",
            "Decline",
            frozenset({S.MADE}),
            S.DECLINED,
            frozenset({Role.PROVIDER, Role.ADMIN}),
            "Date declined",
        ),
        Action(
            "attend",
            "Record first attendance",
            frozenset({S.ACCEPTED}),
            S.ENGAGED,
            frozenset({Role.PROVIDER, Role.ADMIN}),
            "Date of first attendance",
        ),
        Action(
            "start_treatment",
            "Record treatment start",
            frozenset({S.ENGAGED}),
            S.TREATMENT_STARTED,
            frozenset({Role.PROVIDER, Role.ADMIN}),
            "Date treatment started",
        ),
        Action(
            "close",
            "Close",
            OPEN_STATES,
            S.CLOSED,
            frozenset({Role.PROVIDER, Role.ADMIN, Role.CUSTODY}),
            "Date closed",
        ),
        Action("reopen", "Reopen", CLOSED_STATES, None, frozenset({Role.ADMIN}), "Date reopened"),
    ]
}
# Who may close a referral as entered in error (which removes it from every measure).
ENTERED_IN_ERROR_ROLES = frozenset({Role.CUSTODY, Role.ADMIN})
# The date column each stage sets, and the stage that must come before it.
STAGE_DATE = {
    S.ACCEPTED: "accepted_on",
    S.DECLINED: "declined_on",
    S.ENGAGED: "engaged_on",
    S.TREATMENT_STARTED: "treatment_started_on",
    S.CLOSED: "closed_on",
}
STAGE_NAMES = {
    "referred_on": "the referral was made",
    "accepted_on": "the referral was accepted",
    "engaged_on": "the first attendance",
    "treatment_started_on": "treatment started",
}


def allowed_actions(referral: Referral, user: User) -> list[Action]:
    """The changes ``user`` may make to ``referral`` now."""
    found = []
    for action in ACTIONS.values():
        if referral.status in action.sources and user.role in action.roles:
            if user.role == Role.CUSTODY and referral.status != S.MADE:
                continue  # custody staff may only withdraw a referral entered in error
            found.append(action)
    return found


def _previous_state(referral: Referral) -> ReferralStatus:
    """The state a closed or declined referral was in before it was closed."""
    for event in reversed(referral.events):
        if event.to_status == referral.status and event.from_status is not None:
            return ReferralStatus(event.from_status)
    return S.MADE


def _check_date(referral: Referral, target: ReferralStatus, on: dt.date, today: dt.date) -> None:
    if on > today:
        raise TransitionError("The date cannot be in the future.")
    if on < referral.referred_on:
        made = format_date(referral.referred_on)
        raise TransitionError(f"The date cannot be before the referral was made ({made}).")
    # Not before any earlier stage this referral has reached.
    for column in ("accepted_on", "engaged_on", "treatment_started_on"):
        if STAGE_DATE.get(target) == column:
            break
        earlier = getattr(referral, column)
        if earlier is not None and on < earlier:
            raise TransitionError(
                f"The date cannot be before {STAGE_NAMES[column]} ({format_date(earlier)})."
            )


def apply(
    session: Session,
    referral: Referral,
    action_name: str,
    user: User,
    *,
    on: dt.date,
    today: dt.date,
    expected_version: int | None,
    reason: str | None = None,
    declined_by: str | None = None,
    note: str | None = None,
) -> ReferralEvent:
    """Make the change, or raise ``TransitionError`` with a message saying why not.

    The caller commits; ``StaleDataError`` on commit means a concurrent change won.
    """
    action = ACTIONS.get(action_name)
    if action is None:
        raise TransitionError("That is not something that can be done to a referral.")
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    if user.role not in action.roles:
        raise TransitionError("Your role cannot make this change.")
    if referral.status not in action.sources:
        raise TransitionError(
            f"A referral that is “{referral.status.label.lower()}” cannot be "
            f"{_past(action.name)}. {_next_steps(referral.status)}"
        )
    if user.role == Role.CUSTODY and (
        referral.status != S.MADE or reason != CloseReason.ENTERED_IN_ERROR
    ):
        raise TransitionError(
            "Custody staff can only close a referral as entered in error, before the service "
            "has responded."
        )
    if (
        action.name == "close"
        and reason == CloseReason.ENTERED_IN_ERROR
        and user.role not in ENTERED_IN_ERROR_ROLES
    ):
        # "Entered in error" takes a referral out of every measure: the service it was
        # sent to must not be able to drop its own unsuccessful referrals that way.
        raise TransitionError(
            "Only the custody suite that made the referral (before the service responds) "
            "or an administrator can close it as entered in error. Choose the reason "
            "that says what happened, or ask an administrator."
        )
    note = (note or "").strip() or None
    source = referral.status
    if action.name == "reopen":
        if not note:
            raise TransitionError("Say why the referral is being reopened.")
        target = _previous_state(referral)
        _check_date(referral, target, on, today)
        ended = referral.closed_on or referral.declined_on
        if ended is not None and on < ended:
            raise TransitionError(
                f"The date cannot be before the referral was closed ({format_date(ended)})."
            )
        referral.closed_on = referral.close_reason = None
        referral.declined_on = referral.declined_by = referral.decline_reason = None
        event_reason = None
    else:
        target = action.target
        _check_date(referral, target, on, today)
        event_reason = None
        if action.name == "decline":
            if reason not in DeclineReason.values():
                raise TransitionError("Choose the reason the referral is declined.")
            if declined_by not in DeclinedBy.values():
                raise TransitionError("Say who declined: the service or the person.")
            referral.decline_reason = DeclineReason(reason)
            referral.declined_by = DeclinedBy(declined_by)
            event_reason = reason
        elif action.name == "close":
            if reason not in CloseReason.values():
                raise TransitionError("Choose the reason the referral is closed.")
            referral.close_reason = CloseReason(reason)
            event_reason = reason
        setattr(referral, STAGE_DATE[target], on)
    referral.status = target
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=target,
        event_date=on,
        reason=event_reason,
        note=note,
    )
    session.add(event)
    return event


def _past(action: str) -> str:
    return {
        "accept": "accepted",
        "decline": "declined",
        "attend": "marked as attended",
        "start_treatment": "marked as starting treatment",
        "close": "closed",
        "reopen": "reopened",
    }[action]


def _next_steps(status: ReferralStatus) -> str:
    return {
        S.MADE: "It must be accepted or declined first.",
        S.ACCEPTED: "The next step is to record the first attendance.",
        S.ENGAGED: "The next step is to record the start of treatment.",
        S.TREATMENT_STARTED: "It can only be closed now.",
        S.DECLINED: "It is finished; an administrator can reopen it.",
        S.CLOSED: "It is finished; an administrator can reopen it.",
    }[status]
