"""The referral lifecycle (DESIGN.md section 5), enforced in one place.

    made -> accepted -> engaged -> treatment_started -> closed
      \\-> declined                any open state -> closed
    closed or declined -> reopened to where it was (administrators only)
    after treatment starts: 12-week check, diversion outcome, BBV testing (see the end)

Only the referring custody suite (before the service responds) and administrators may
close a referral as entered in error, since that removes it from every measure.

Every change checks who may make it, that it is allowed from the current state, that
its date is not in the future, not before the referral and not before the stage
before it (a change that ends the referral: not before any date already recorded on
it, its last reopening included), and that nobody else changed the referral since the
form was shown. Every change writes a ``ReferralEvent``; events are never changed or
deleted, and the referrer hears of it through the outbox (in the same transaction).

One more change lives here: closing as "referred on" (only by passing the referral on,
``refer_on.py``; custody staff, as with closing, only before the service responds).
Taking a change back within 15 minutes is ``undo.py``.
"""

from __future__ import annotations

import datetime as dt

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
from ..clock import now_utc
from ..contacts.linking import take_contact_back
from ..models import Referral, ReferralEvent, User
from ..notifications.outbox import (
    announce_reopened,
    announce_status_change,
    withdraw_status_message,
)
from ..templating import format_date
from .actions import (
    ACTIONS,
    CLOSED_STATES,
    ENTERED_IN_ERROR_ROLES,
    ERASED,
    OPEN_STATES,
    STAGE_DATE,
    STAGE_NAMES,
    StaleReferral,
    TransitionError,
    next_steps,
    past,
)
from .outcomes import (
    OUTCOME_CHOICES,
    OUTCOME_TITLES,
    outcomes_open,
    retention_due_on,
    why_not_open,
)

S = ReferralStatus


def _previous_state(referral: Referral) -> ReferralStatus:
    """The state a closed or declined referral was in before it was closed."""
    for event in reversed(referral.events):
        if event.to_status == referral.status and event.from_status is not None:
            return ReferralStatus(event.from_status)
    return S.MADE


# The dates recorded on a referral, as the messages name them.
RECORDED_DATES = {
    **STAGE_NAMES,
    "retention_outcome_on": "the 12-week check",
    "diversion_outcome_on": "the diversion outcome",
    "bbv_test_offered_on": "the blood-borne virus test was offered",
    "bbv_test_taken_on": "the blood-borne virus test was taken",
}


def _latest_recorded(referral: Referral) -> tuple[dt.date, str]:
    """The latest date recorded on ``referral`` (a stage, an outcome after treatment
    started, or its last reopening, which cannot be undone), with its name."""
    found = [(getattr(referral, column), name) for column, name in RECORDED_DATES.items()]
    found += [
        (event.event_date, "the referral was reopened")
        for event in referral.events
        if event.from_status in CLOSED_STATES and event.reason is None
    ]
    # Of the same date, the later stage is named.
    on, _, name = max((on, n, name) for n, (on, name) in enumerate(found) if on is not None)
    return on, name


def _check_ending_date(referral: Referral, on: dt.date) -> None:
    """A change that ends the referral cannot be dated before anything already recorded
    on it: the retention purge counts from the day it ended, and the measures' waits and
    outcomes read its dates in order."""
    latest, name = _latest_recorded(referral)
    if on < latest:
        raise TransitionError(f"The date cannot be before {name} ({format_date(latest)}).", "date")


def _check_date(referral: Referral, target: ReferralStatus, on: dt.date, today: dt.date) -> None:
    if on > today:
        raise TransitionError("The date cannot be in the future.", "date")
    if on < referral.referred_on:
        made = format_date(referral.referred_on)
        raise TransitionError(f"The date cannot be before the referral was made ({made}).", "date")
    if target in CLOSED_STATES:
        _check_ending_date(referral, on)
        return
    # Not before any earlier stage this referral has reached.
    for column in ("accepted_on", "engaged_on", "treatment_started_on"):
        if STAGE_DATE.get(target) == column:
            break
        earlier = getattr(referral, column)
        if earlier is not None and on < earlier:
            raise TransitionError(
                f"The date cannot be before {STAGE_NAMES[column]} ({format_date(earlier)}).",
                "date",
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
            f"{past(action.name)}. {next_steps(referral.status)}"
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
            raise TransitionError("Say why the referral is being reopened.", "note")
        if referral.close_reason == CloseReason.REFERRED_ON:
            raise TransitionError(
                "This referral was passed on to another service; follow the new referral "
                "instead of reopening this one."
            )
        came_from = referral.referred_from
        if came_from is not None and came_from.close_reason != CloseReason.REFERRED_ON:
            raise TransitionError(
                f"This referral was withdrawn when passing {came_from.reference} on was "
                f"undone, and {came_from.reference} is followed instead. Pass "
                f"{came_from.reference} on again if the person should go to this service."
            )
        if referral.personal_data_erased_at is not None:
            # Erased under the retention rules: nothing about the person may be written
            # to it again (the purge erases each referral once).
            raise TransitionError(
                "This referral's personal details were erased under the retention rules, "
                "so it cannot be reopened. Make a new referral instead."
            )
        target = _previous_state(referral)
        _check_date(referral, target, on, today)
        ended = referral.closed_on or referral.declined_on
        if ended is not None and on < ended:
            raise TransitionError(
                f"The date cannot be before the referral was closed ({format_date(ended)}).",
                "date",
            )
        if referral.close_reason == CloseReason.ENTERED_IN_ERROR:
            take_back_contact(session, referral)
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
                raise TransitionError("Choose the reason the referral is declined.", "reason")
            if declined_by not in DeclinedBy.values():
                raise TransitionError(
                    "Say who declined: the service or the person.", "declined_by"
                )
            referral.decline_reason = DeclineReason(reason)
            referral.declined_by = DeclinedBy(declined_by)
            event_reason = reason
        elif action.name == "close":
            if reason not in CloseReason.values():
                raise TransitionError("Choose the reason the referral is closed.", "reason")
            if reason == CloseReason.REFERRED_ON:
                raise TransitionError(
                    "To pass the referral to another service, use “Refer on”: it makes the "
                    "new referral and closes this one in one step."
                )
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
        at=now_utc(),
    )
    session.add(event)
    if action.name == "reopen":
        # Reopening takes a closing back: the referrer hears nothing of either (a held
        # "closed" message is cancelled; nobody "accepted" it again).
        withdraw_status_message(
            session, referral.id, source.value, why="The referral was reopened."
        )
        announce_reopened(session, referral)
    else:
        announce_status_change(session, referral, event, now_utc())
    return event


def refer_on_problem(referral: Referral, user: User) -> str | None:
    """Why ``user`` cannot pass ``referral`` on now, or None if they can. Passing it on
    closes it, so custody staff may do it only while they may close it themselves:
    before the service has responded."""
    if referral.status not in OPEN_STATES:
        return (
            f"A referral that is “{referral.status.label.lower()}” cannot be passed on. "
            "Make a new referral instead."
        )
    if referral.personal_data_erased_at is not None:
        return ERASED
    if user.role == Role.CUSTODY and referral.status != S.MADE:
        return (
            "Custody staff can only pass a referral on before the service has responded, "
            f"and this one is “{referral.status.label.lower()}”. Ask the service to pass it "
            "on if another service suits the person better."
        )
    return None


def close_as_referred_on(
    session: Session,
    referral: Referral,
    user: User,
    *,
    today: dt.date,
    expected_version: int | None,
    new_reference: str,
) -> ReferralEvent:
    """Close ``referral`` because it was passed on (the new referral is ``new_reference``)."""
    if expected_version is not None and expected_version != referral.version:
        raise StaleReferral()
    problem = refer_on_problem(referral, user)
    if problem:
        raise TransitionError(problem)
    source = referral.status
    referral.status = S.CLOSED
    referral.closed_on = today
    referral.close_reason = CloseReason.REFERRED_ON
    event = ReferralEvent(
        referral=referral,
        user_id=user.id,
        from_status=source,
        to_status=S.CLOSED,
        event_date=today,
        reason=CloseReason.REFERRED_ON.value,
        note=f"Passed on: the new referral is {new_reference}.",
    )
    session.add(event)
    announce_status_change(session, referral, event, now_utc())
    return event


def take_back_contact(session: Session, referral: Referral) -> None:
    """Its custody contact back from the referral made in its place, or refused."""
    problem = take_contact_back(session, referral)
    if problem:
        raise TransitionError(problem)


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
    close_reason = CLOSES.get((kind, value))
    if close_reason is not None:
        _check_ending_date(referral, on)

    source = referral.status
    if kind == "retention":
        referral.retention_outcome, referral.retention_outcome_on = value, on
    elif kind == "diversion":
        referral.diversion_outcome, referral.diversion_outcome_on = value, on
    else:
        referral.bbv_test_offered_on = referral.bbv_test_offered_on or on
        if value == BbvTesting.TAKEN:
            referral.bbv_test_taken_on = on
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
        at=now_utc(),
    )
    session.add(event)
    if referral.status != source:  # the outcome closed the referral: tell the referrer
        announce_status_change(session, referral, event, now_utc())
    return event


def _forget_closing_outcome(referral: Referral) -> None:
    """On reopening, the outcome that closed the referral no longer stands."""
    closing = next((e for e in reversed(referral.events) if e.to_status == S.CLOSED), None)
    kind = (closing.reason or "").partition(":")[0] if closing else ""
    if kind == "retention":
        referral.retention_outcome = referral.retention_outcome_on = None
    elif kind == "diversion":
        referral.diversion_outcome = referral.diversion_outcome_on = None
