"""The referral lifecycle (DESIGN.md section 5), enforced in one place.

    made -> accepted -> engaged -> treatment_started -> closed
      \\-> declined                any open state -> closed
    closed or declined -> reopened to where it was (administrators only)
    after treatment starts: 12-week check, diversion outcome, BBV testing (see the end)

Every change checks who may make it, that it is allowed from the current state, that
its date is not in the future, not before the referral and not before the stage
before it, and that nobody else changed the referral since the form was shown. Every
change writes a ``ReferralEvent``; events are never changed or deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..choices import (
    BbvTesting,
    CloseReason,
    DeclinedBy,
    DeclineReason,
    DiversionOutcome,
    ReferralStatus,
    RetentionOutcome,
    Role,
)
from ..models import Referral, ReferralEvent, User
from ..templating import format_date
from .outcomes import (
    OUTCOME_CHOICES,
    OUTCOME_TITLES,
    outcomes_open,
    retention_due_on,
    why_not_open,
)

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
        _forget_closing_outcome(referral)
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


# -- After treatment starts: the 12-week check, diversion, blood-borne virus testing ------
#
# What may be recorded when is in ``outcomes.py``; these are the changes. Each is an event
# on its date; an outcome that ends the referral (completed, dropped out, transferred, a
# diversion finished either way) also closes it with the matching reason.

CLOSES = {
    ("retention", RetentionOutcome.COMPLETED): CloseReason.COMPLETED,
    ("retention", RetentionOutcome.DROPPED_OUT): CloseReason.DISENGAGED,
    ("retention", RetentionOutcome.TRANSFERRED): CloseReason.TRANSFERRED,
    ("diversion", DiversionOutcome.COMPLETED): CloseReason.COMPLETED,
    ("diversion", DiversionOutcome.NOT_COMPLETED): CloseReason.DISENGAGED,
}


def record_outcome(
    session: Session,
    referral: Referral,
    kind: str,
    value: str | None,
    user: User,
    *,
    on: dt.date,
    today: dt.date,
    expected_version: int | None,
    note: str | None = None,
) -> ReferralEvent:
    """Record an outcome after treatment starts, or raise ``TransitionError`` saying why
    not. The caller commits; ``StaleDataError`` on commit means a concurrent change won."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    choice = OUTCOME_CHOICES.get(kind)
    if choice is None:
        raise TransitionError("That is not an outcome that can be recorded.")
    if value not in choice.values():
        raise TransitionError(f"Choose the {OUTCOME_TITLES[kind].lower()} outcome.")
    value = choice(value)
    if kind not in outcomes_open(referral, user, today):
        raise TransitionError(why_not_open(referral, kind, user))
    if on > today:
        raise TransitionError("The date cannot be in the future.")
    floor, floor_name = referral.engaged_on, "the first attendance"
    if kind == "retention":
        floor, floor_name = referral.treatment_started_on, "treatment started"
        if value == RetentionOutcome.RETAINED:
            floor, floor_name = retention_due_on(referral), "12 weeks after treatment started"
    elif kind == "bbv" and value == BbvTesting.TAKEN and referral.bbv_test_offered_on:
        floor, floor_name = referral.bbv_test_offered_on, "the test was offered"
    if floor is not None and on < floor:
        raise TransitionError(f"The date cannot be before {floor_name} ({format_date(floor)}).")

    source = referral.status
    if kind == "retention":
        referral.retention_outcome, referral.retention_outcome_on = value, on
    elif kind == "diversion":
        referral.diversion_outcome, referral.diversion_outcome_on = value, on
    else:
        referral.bbv_test_offered_on = referral.bbv_test_offered_on or on
        if value == BbvTesting.TAKEN:
            referral.bbv_test_taken_on = on
    close_reason = CLOSES.get((kind, value))
    if close_reason is not None:
        referral.status, referral.closed_on, referral.close_reason = S.CLOSED, on, close_reason
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=referral.status,
        event_date=on,
        reason=f"{kind}:{value.value}",
        note=(note or "").strip() or None,
    )
    session.add(event)
    return event


def _forget_closing_outcome(referral: Referral) -> None:
    """On reopening, the outcome that closed the referral no longer stands."""
    closing = next((e for e in reversed(referral.events) if e.to_status == S.CLOSED), None)
    kind = (closing.reason or "").partition(":")[0] if closing else ""
    if kind == "retention":
        referral.retention_outcome = referral.retention_outcome_on = None
    elif kind == "diversion":
        referral.diversion_outcome = referral.diversion_outcome_on = None
