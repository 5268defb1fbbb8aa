"""The coded values of a custody contact, each with the label people read."""

from __future__ import annotations

from ..choices import Choice


class ContactOutcome(Choice):
    REFERRAL_MADE = "referral_made", "Referral made"
    DECLINED = "declined", "Declined"
    NOT_SUITABLE = "not_suitable", "Not suitable"
    ALREADY_IN_TREATMENT = "already_in_treatment", "Already in treatment"
    RELEASED_BEFORE_SEEN = "released_before_seen", "Released or transferred before being seen"


# Outcomes that mean the person was offered arrest referral; one that means they cannot
# have been (nobody saw them); and one that means they usually were not.
OFFERED_OUTCOMES = frozenset({ContactOutcome.REFERRAL_MADE, ContactOutcome.DECLINED})
UNSEEN_OUTCOMES = frozenset({ContactOutcome.RELEASED_BEFORE_SEEN})
NOT_OFFERED_UNLESS_SAID = frozenset({ContactOutcome.NOT_SUITABLE})


class ContactDeclineReason(Choice):
    NO_PROBLEM = "no_problem", "Does not think they have a problem"
    NOT_READY = "not_ready", "Not ready to change"
    SELF_REFER = "self_refer", "Will contact a service themselves"
    DISTRUST = "distrust", "Does not want services to know (police involvement)"
    BAD_EXPERIENCE = "bad_experience", "Bad experience of services before"
    NO_REASON = "no_reason", "Gave no reason"
    OTHER = "other", "Another reason"


class NotSuitableReason(Choice):
    INTOXICATED = "intoxicated", "Too intoxicated or unwell to be seen"
    NO_NEED = "no_need", "No drug or alcohol problem found"
    RISK = "risk", "Risk to staff: not safe to see"
    CAPACITY = "capacity", "Lacks capacity, or needs an interpreter not available"
    UNDER_16 = "under_16", "Under 16: for young people's services"
    OTHER = "other", "Another reason"


class NaloxoneStatus(Choice):
    SUPPLIED = "supplied", "Offered and supplied"
    DECLINED = "declined", "Offered, the person declined"
    OFFERED = "offered", "Offered, no kit given (none in stock, or to collect)"
    ALREADY_CARRIES = "already_carries", "Already carries naloxone"
    NOT_OFFERED = "not_offered", "Not offered"


# How each status reads as the referral's two naloxone boxes (offered, supplied).
NALOXONE_FLAGS = {
    NaloxoneStatus.SUPPLIED: (True, True),
    NaloxoneStatus.DECLINED: (True, False),
    NaloxoneStatus.OFFERED: (True, False),
    NaloxoneStatus.ALREADY_CARRIES: (False, False),
    NaloxoneStatus.NOT_OFFERED: (False, False),
}


def naloxone_status(offered: bool, supplied: bool, keep: NaloxoneStatus | None = None):
    """The status matching a referral's naloxone boxes: ``keep`` when it agrees with
    them, else the plainest status that does."""
    if keep is not None and NALOXONE_FLAGS[NaloxoneStatus(keep)] == (offered, supplied):
        return NaloxoneStatus(keep)
    if supplied:
        return NaloxoneStatus.SUPPLIED
    return NaloxoneStatus.OFFERED if offered else NaloxoneStatus.NOT_OFFERED
