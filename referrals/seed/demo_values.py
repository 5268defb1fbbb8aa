"""The weights and word lists the demo generators draw from, and the columns they write.

Shares are rough figures for Scottish arrest referral and custody work, chosen so the
demo looks plausible; they are not statistics.
"""

from __future__ import annotations

PATHWAYS = {  # code: (share of referrals, effect on engagement)
    "arrest_referral": (40, 0.0),
    "custody_release": (24, -0.25),
    "diversion": (10, 0.55),
    "direct_measure": (5, 0.3),
    "near_fatal_overdose": (11, -0.45),
    "self_presenting": (10, 0.6),
}
AGE_BANDS = {
    "under_18": 1,
    "18_24": 12,
    "25_34": 30,
    "35_44": 32,
    "45_54": 17,
    "55_64": 6,
    "65_plus": 2,
}
SEXES = {"male": 74, "female": 25, "not_known": 1}
SUBSTANCES = {
    "opioids": 34,
    "benzodiazepines": 22,
    "cocaine": 20,
    "alcohol": 14,
    "cannabis": 6,
    "stimulants": 2,
    "nitazenes": 1,
    "other": 1,
}
NEEDS = {
    "treatment": 40,
    "harm_reduction": 20,
    "housing": 12,
    "mental_health": 12,
    "physical_health": 5,
    "bbv": 4,
    "benefits": 4,
    "family": 3,
}
CONTACT_METHODS = {"phone": 55, "text": 25, "letter": 3, "via_referrer": 10, "self_present": 7}
SERVICE_TYPE_PULL = {  # how often custody staff pick a service of this primary type
    "ost": 10,
    "psychosocial": 8,
    "alcohol": 6,
    "recovery_community": 5,
    "iep": 3,
    "naloxone": 2,
    "detox": 3,
    "residential_rehab": 1,
    "hat": 2,
    "mental_health": 3,
    "housing": 2,
    "bbv": 1,
    "womens": 2,
    "family": 1,
    "young_people": 1,
    "veterans": 1,
}
DECLINE_BY_PROVIDER = [
    "not_eligible",
    "outside_area",
    "no_capacity",
    "already_in_treatment",
    "duplicate",
    "other",
]
NO_ENGAGEMENT_CLOSURES = {
    "not_contactable": 50,
    "person_declined": 22,
    "disengaged": 15,
    "moved_area": 5,
    "in_custody": 7,
    "died": 1,
}
FIRST_NAMES = [
    "Alex",
    "Sam",
    "Jamie",
    "Robbie",
    "Kirsty",
    "Callum",
    "Ewan",
    "Fiona",
    "Graeme",
    "Heather",
    "Iain",
    "Jo",
    "Kenny",
    "Lorna",
    "Morag",
    "Niall",
    "Paula",
    "Ross",
    "Shona",
    "Tam",
    "Una",
    "Wendy",
    "Craig",
    "Donna",
]
LAST_NAMES = [
    "Example",
    "Sample",
    "Placeholder",
    "Testperson",
    "Fictional",
    "Demo",
    "Madeup",
    "Pretend",
    "Notreal",
    "Invented",
]
NOTES = [
    None,
    None,
    None,
    None,
    None,
    "Prefers afternoon appointments.",
    "Has a dog; cannot attend residential settings without arrangements.",
    "Recently released; no phone credit, try text first.",
    "Interested in recovery cafe as well as treatment.",
    "Needs appointment letters sent to a family address.",
]

REFERRAL_COLUMNS = (
    "id",
    "reference",
    "uuid",
    "made_at",
    "referred_on",
    "custody_suite_id",
    "referrer_id",
    "pathway",
    "service_id",
    "person_ref",
    "person_ref_hash",
    "age_band",
    "sex",
    "postcode_district",
    "council_area_id",
    "consent_recorded",
    "consent_date",
    "substances",
    "needs",
    "naloxone_offered",
    "naloxone_supplied",
    "children_in_household",
    "same_day_urgent",
    "notes",
    "contact_name",
    "contact_phone",
    "contact_method",
    "status",
    "accepted_on",
    "declined_on",
    "declined_by",
    "decline_reason",
    "engaged_on",
    "treatment_started_on",
    "closed_on",
    "close_reason",
    "days_to_engagement",
    "days_to_treatment",
    "retention_outcome",
    "retention_outcome_on",
    "diversion_outcome",
    "diversion_outcome_on",
    "bbv_test_offered_on",
    "bbv_test_taken_on",
    "version",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "referral_id",
    "at",
    "user_id",
    "from_status",
    "to_status",
    "event_date",
    "reason",
)

CONTACT_COLUMNS = (
    "custody_suite_id",
    "contact_on",
    "recorded_at",
    "recorded_by_id",
    "age_band",
    "sex",
    "postcode_district",
    "council_area_id",
    "offered",
    "outcome",
    "decline_reason",
    "not_suitable_reason",
    "treatment_service_id",
    "naloxone",
    "veteran",
    "referral_id",
    "version",
    "updated_at",
)
# Custody contacts not referred: why an offer was declined, why someone was not
# suitable, and what happened to those not offered arrest referral.
CONTACT_DECLINE_REASONS = {
    "no_problem": 30,
    "not_ready": 22,
    "self_refer": 12,
    "distrust": 10,
    "bad_experience": 6,
    "no_reason": 15,
    "other": 5,
}
NOT_SUITABLE_REASONS = {
    "intoxicated": 40,
    "no_need": 25,
    "risk": 10,
    "capacity": 10,
    "under_16": 5,
    "other": 10,
}
NOT_OFFERED_OUTCOMES = {"not_suitable": 45, "already_in_treatment": 35, "released_before_seen": 20}
# Veterans: about 1 in 25 of those asked; a quarter are not asked.
VETERAN = {"yes": 3, "no": 72, "not_asked": 25}
