"""What can be done to a referral, by whom, from which state: the table the lifecycle
(``lifecycle.py``) enforces and the pages offer, with the words for each change."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import ReferralStatus, Role
from ..models import Referral, User

S = ReferralStatus
OPEN_STATES = frozenset({S.MADE, S.ACCEPTED, S.ENGAGED, S.TREATMENT_STARTED})
CLOSED_STATES = frozenset({S.CLOSED, S.DECLINED})


class TransitionError(ValueError):
    """The change is not allowed; the message says why, for the person trying it.
    ``field`` names the answer at fault when it is one ("date", "reason",
    "declined_by", "note"), as the API reports it; None when it is the change itself."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
# Why nothing more is done to a referral erased under the retention rules: the purge
# erases each referral once, so whatever was written to it afterwards would be kept.
ERASED = (
    "The person's details on this referral were erased under the retention rules, so it "
    "cannot be changed or added to any more. If the person still needs a service, a new "
    "referral has to be made."
)
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
            if action.name == "reopen" and referral.personal_data_erased_at is not None:
                continue  # erased under the retention rules: never written to again
            found.append(action)
    return found


def past(action: str) -> str:
    return {
        "accept": "accepted",
        "decline": "declined",
        "attend": "marked as attended",
        "start_treatment": "marked as starting treatment",
        "close": "closed",
        "reopen": "reopened",
    }[action]


def next_steps(status: ReferralStatus) -> str:
    return {
        S.MADE: "It must be accepted or declined first.",
        S.ACCEPTED: "The next step is to record the first attendance.",
        S.ENGAGED: "The next step is to record the start of treatment.",
        S.TREATMENT_STARTED: "It can only be closed now.",
        S.DECLINED: "It is finished; an administrator can reopen it.",
        S.CLOSED: "It is finished; an administrator can reopen it.",
    }[status]


def done_message(action: str, reference: str) -> str:
    """The sentence shown once a change is saved, e.g. "Referral RP-7K3M-9Q2X accepted."."""
    return {
        "attend": f"First attendance recorded for referral {reference}.",
        "start_treatment": f"Treatment start recorded for referral {reference}.",
    }.get(action, f"Referral {reference} {past(action)}.")
