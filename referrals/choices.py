"""The coded values the product stores, each with the label people read.

Stored values are short lower-case codes; labels are what screens and exports show.
"""

from __future__ import annotations

from enum import StrEnum


class Choice(StrEnum):
    """A string enum whose members carry a human label: ``MADE = "made", "Made"``."""

    label: str

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]

    @classmethod
    def of(cls, value: object):
        """The member coded ``value`` (a code, or a member), or None for anything else."""
        try:
            return cls(value)
        except ValueError:
            return None


class Role(Choice):
    CUSTODY = "custody", "Custody / arrest referral"
    PROVIDER = "provider", "Service provider"
    LEAD = "lead", "Area lead"
    ADMIN = "admin", "Administrator"


class AreaGroupKind(Choice):
    ADP = "adp", "Alcohol and Drug Partnership"
    POLICE_DIVISION = "police_division", "Police division"
    HEALTH_BOARD = "health_board", "Health board"


class Geography(Choice):
    """The geographies reports group by and targets are set for."""

    COUNCIL = "council", "Council area"
    ADP = "adp", "Alcohol and Drug Partnership"
    POLICE_DIVISION = "police_division", "Police division"
    HEALTH_BOARD = "health_board", "Health board"
    SCHEME = "scheme", "Arrest referral scheme"


class ServiceStatus(Choice):
    ACTIVE = "active", "Active"
    TEMPORARILY_CLOSED = "temporarily_closed", "Temporarily closed"
    INACTIVE = "inactive", "Inactive"


class Gender(Choice):
    ANY = "any", "Any gender"
    FEMALE = "female", "Women only"
    MALE = "male", "Men only"


class ProblemCategory(Choice):
    WRONG_PHONE = "wrong_phone", "Wrong phone number or email"
    WRONG_ADDRESS = "wrong_address", "Wrong address or map position"
    WRONG_HOURS = "wrong_hours", "Wrong opening hours"
    CLOSED = "closed", "Service has closed or moved"
    WRONG_AREA = "wrong_area", "Wrong area or eligibility"
    OTHER = "other", "Something else"


class Pathway(Choice):
    ARREST_REFERRAL = "arrest_referral", "Arrest referral"
    CUSTODY_RELEASE = "custody_release", "Custody referral on release"
    DIVERSION = "diversion", "Diversion from prosecution"
    DIRECT_MEASURE = "direct_measure", "Direct measure"
    NEAR_FATAL_OVERDOSE = "near_fatal_overdose", "Near-fatal overdose follow-up"
    SELF_PRESENTING = "self_presenting", "Self-presenting"


class ReferralStatus(Choice):
    MADE = "made", "Made, awaiting response"
    ACCEPTED = "accepted", "Accepted"
    ENGAGED = "engaged", "Engaged (attended)"
    TREATMENT_STARTED = "treatment_started", "Treatment started"
    DECLINED = "declined", "Declined"
    CLOSED = "closed", "Closed"


class DeclinedBy(Choice):
    PROVIDER = "provider", "The service"
    PERSON = "person", "The person"


class DeclineReason(Choice):
    NOT_ELIGIBLE = "not_eligible", "Not eligible for this service"
    OUTSIDE_AREA = "outside_area", "Lives outside the area served"
    NO_CAPACITY = "no_capacity", "No capacity at present"
    ALREADY_IN_TREATMENT = "already_in_treatment", "Already in treatment elsewhere"
    PERSON_DECLINED = "person_declined", "Person declined the offer"
    DUPLICATE = "duplicate", "Duplicate referral"
    OTHER = "other", "Other reason"


class CloseReason(Choice):
    COMPLETED = "completed", "Completed"
    DISENGAGED = "disengaged", "Disengaged"
    PERSON_DECLINED = "person_declined", "Person declined"
    NOT_CONTACTABLE = "not_contactable", "Not contactable"
    MOVED_AREA = "moved_area", "Moved area"
    IN_CUSTODY = "in_custody", "In custody or prison"
    DIED = "died", "Died"
    TRANSFERRED = "transferred", "Transferred to another service"
    ENTERED_IN_ERROR = "entered_in_error", "Entered in error"
    # Set only by passing the referral on to another service (the new one links back).
    REFERRED_ON = "referred_on", "Referred on to another service"


class AttemptMethod(Choice):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    LETTER = "letter", "Letter"
    EMAIL = "email", "Email"
    VISIT = "visit", "Visit or outreach"
    VIA_REFERRER = "via_referrer", "Through the referring worker"


class AttemptOutcome(Choice):
    SPOKE = "spoke", "Spoke to the person"
    APPOINTMENT = "appointment", "Appointment booked"
    NO_ANSWER = "no_answer", "No answer"
    MESSAGE_LEFT = "message_left", "Left a message"
    NO_REPLY = "no_reply", "No reply to a letter, text or email"
    WRONG_NUMBER = "wrong_number", "Wrong or unobtainable number"


# Outcomes that did not reach the person: three in a row suggest closing as not contactable.
UNSUCCESSFUL_OUTCOMES = frozenset(
    {
        AttemptOutcome.NO_ANSWER,
        AttemptOutcome.MESSAGE_LEFT,
        AttemptOutcome.NO_REPLY,
        AttemptOutcome.WRONG_NUMBER,
    }
)


# Service types that treat (so a referral there has a "treatment started" stage); the
# others (naloxone, injecting equipment, drug checking, housing, ...) end at attendance.
TREATMENT_TYPE_CODES = frozenset(
    {"ost", "psychosocial", "detox", "residential_rehab", "hat", "alcohol"}
)


class RetentionOutcome(Choice):
    """What the provider records 12 weeks after treatment started."""

    RETAINED = "retained", "Still in treatment"
    COMPLETED = "completed", "Completed treatment"
    DROPPED_OUT = "dropped_out", "Dropped out"
    TRANSFERRED = "transferred", "Transferred to another service"


class DiversionOutcome(Choice):
    COMPLETED = "completed", "Diversion completed"
    NOT_COMPLETED = "not_completed", "Diversion not completed"


class BbvTesting(Choice):
    """Blood-borne virus testing, for referrals that recorded the need."""

    OFFERED = "offered", "Test offered, not taken (yet)"
    TAKEN = "taken", "Test offered and taken"


class AgeBand(Choice):
    UNDER_18 = "under_18", "Under 18"
    AGE_18_24 = "18_24", "18 to 24"
    AGE_25_34 = "25_34", "25 to 34"
    AGE_35_44 = "35_44", "35 to 44"
    AGE_45_54 = "45_54", "45 to 54"
    AGE_55_64 = "55_64", "55 to 64"
    AGE_65_PLUS = "65_plus", "65 and over"


class Sex(Choice):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    NOT_KNOWN = "not_known", "Not known or not stated"


class ContactMethod(Choice):
    PHONE = "phone", "Phone call"
    TEXT = "text", "Text message"
    LETTER = "letter", "Letter"
    VIA_REFERRER = "via_referrer", "Through the referring worker"
    SELF_PRESENT = "self_present", "Do not contact: the person will self-present"


class Substance(Choice):
    OPIOIDS = "opioids", "Heroin or other opioids"
    BENZODIAZEPINES = "benzodiazepines", "Street benzodiazepines"
    COCAINE = "cocaine", "Cocaine or crack"
    CANNABIS = "cannabis", "Cannabis"
    ALCOHOL = "alcohol", "Alcohol"
    STIMULANTS = "stimulants", "Amphetamines or other stimulants"
    NITAZENES = "nitazenes", "Nitazenes or other synthetic opioids"
    OTHER = "other", "Other"


class Need(Choice):
    TREATMENT = "treatment", "Drug or alcohol treatment"
    HARM_REDUCTION = "harm_reduction", "Harm reduction (injecting equipment, naloxone)"
    HOUSING = "housing", "Housing"
    MENTAL_HEALTH = "mental_health", "Mental health"
    PHYSICAL_HEALTH = "physical_health", "Physical health or wounds"
    BBV = "bbv", "Blood-borne virus testing"
    BENEFITS = "benefits", "Money and benefits"
    FAMILY = "family", "Family support"


class Measure(Choice):
    """The measures the reports compute (DESIGN.md section 6 and 8)."""

    REFERRALS = "referrals", "Referrals made"
    ACCEPTANCE_RATE = "acceptance_rate", "Acceptance rate"
    ENGAGEMENT_RATE = "engagement_rate", "Engagement rate"
    CONVERSION_RATE = "conversion_rate", "Conversion rate"
    ENGAGEMENT_TO_TREATMENT = "engagement_to_treatment", "Engagement to treatment"
    WITHIN_3_WEEKS = "within_3_weeks", "Treatment within 3 weeks"
    MEDIAN_DAYS_TO_TREATMENT = "median_days_to_treatment", "Median days to treatment"
    NALOXONE_SUPPLIED = "naloxone_supplied", "Naloxone kits supplied in custody"
    NEAR_FATAL_OVERDOSE = "near_fatal_overdose", "Near-fatal overdose follow-ups"
    DECLINED = "declined", "Referrals declined"
    STARTED_OVER_42 = "started_over_42", "Started treatment after more than 6 weeks"
    RETENTION_12_WEEKS = "retention_12_weeks", "Retained at 12 weeks"
    DIVERSION_COMPLETION = "diversion_completion", "Diversion completion"
    CHILDREN_AFFECTED = "children_affected", "Referrals with children in the household"
    CONTACTS = "contacts", "Custody contacts"
    OFFER_RATE = "offer_rate", "Offer rate"
    REFERRAL_SUCCESS_RATE = "referral_success_rate", "Referral success rate"
    NALOXONE_SUPPLY_RATE = "naloxone_supply_rate", "Naloxone supply rate"
