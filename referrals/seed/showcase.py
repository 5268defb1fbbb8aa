"""What the demo accounts see first: referrals in every state between the demo custody
suite and the demo provider, and local targets for several areas and measures.

Generated referrals are random, so on a given day the demo custody officer and provider
may have nothing overdue or nothing new. These few are placed on purpose, relative to
the as-of date: overdue (no response after 5 working days), new, accepted and awaiting
first attendance, attended and awaiting treatment, recently started, declined and
closed; some urgent, some with children in the household. Everything here is derived
from the as-of date, so a seed and date still give the same database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import uuid5
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..contacts.choices import naloxone_status
from ..contacts.models import CustodyContact
from ..encryption import keyring
from ..models import (
    AreaGroup,
    CouncilArea,
    PostcodeDistrict,
    Referral,
    ReferralEvent,
    Service,
    ServiceType,
    Target,
    User,
)
from ..references import reference_for
from .demo_directory import DEMO_UUIDS

LONDON = ZoneInfo("Europe/London")
STAGE_DATES = {
    "accepted": "accepted_on",
    "engaged": "engaged_on",
    "treatment_started": "treatment_started_on",
    "declined": "declined_on",
    "closed": "closed_on",
}
TREATMENT_TYPES = ("ost", "psychosocial", "alcohol", "detox", "mental_health")


@dataclass(frozen=True)
class Case:
    """One showcase referral: made ``days`` ago, then each stage ``after`` days later."""

    days: int
    stages: tuple[tuple[str, int], ...] = ()
    treatment: bool = False  # to a treatment service (not harm reduction or housing)
    urgent: bool = False
    children: bool = False
    pathway: str = "arrest_referral"
    reason: str | None = None
    declined_by: str | None = None


CASES = [
    # Overdue: no response in more than 5 working days.
    Case(21, urgent=True),
    Case(14, children=True, pathway="custody_release"),
    Case(10, pathway="near_fatal_overdose"),
    # New: awaiting a response, still within 5 working days.
    Case(0, urgent=True, children=True),
    Case(1, pathway="diversion"),
    Case(2),
    # Accepted, awaiting first attendance.
    Case(9, (("accepted", 1),), treatment=True),
    Case(6, (("accepted", 2),), children=True),
    Case(4, (("accepted", 0),), urgent=True, pathway="self_presenting"),
    # Attended, awaiting treatment start.
    Case(20, (("accepted", 1), ("engaged", 6)), treatment=True),
    Case(12, (("accepted", 1), ("engaged", 4)), treatment=True, pathway="diversion"),
    # Treatment started; declined; closed.
    Case(30, (("accepted", 1), ("engaged", 5), ("treatment_started", 9)), treatment=True),
    Case(8, (("declined", 2),), reason="no_capacity", declined_by="provider"),
    Case(45, (("accepted", 2), ("closed", 30)), reason="not_contactable"),
]
DISTRICTS = ["G31", "G34", "G33", "G21", "G40", "G32", "G22"]
AGE_BANDS = ["25_34", "35_44", "18_24", "45_54", "35_44", "25_34", "55_64"]

# (geography, area code, measure, target): the lead's own area first.
TARGETS = [
    ("council", "S12000049", "acceptance_rate", 0.85),
    ("council", "S12000049", "engagement_rate", 0.6),
    ("council", "S12000049", "conversion_rate", 0.4),
    ("council", "S12000049", "within_3_weeks", 0.9),
    ("council", "S12000049", "median_days_to_treatment", 21),
    ("council", "S12000036", "engagement_rate", 0.55),
    ("council", "S12000036", "conversion_rate", 0.35),
    ("council", "S12000047", "engagement_rate", 0.55),
    ("council", "S12000042", "engagement_rate", 0.55),
    ("council", "S12000042", "conversion_rate", 0.35),
    ("council", "S12000033", "engagement_rate", 0.5),
    ("council", "S12000050", "acceptance_rate", 0.85),
    ("adp", "ADP-GC", "engagement_rate", 0.6),
    ("police_division", "G", "engagement_rate", 0.55),
    ("police_division", "G", "acceptance_rate", 0.85),
    ("health_board", "S08000031", "within_3_weeks", 0.9),
]


def financial_year_start(day: dt.date) -> dt.date:
    return dt.date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def add_targets(session: Session, as_of: dt.date, lead: User, admin: User) -> int:
    """Targets for this financial year and the last, for the areas in ``TARGETS`` that
    exist; the lead sets their own council's, the administrator the rest."""
    start = financial_year_start(as_of)
    periods = [(start.replace(year=start.year - 1), start - dt.timedelta(days=1))]
    periods.append((start, start.replace(year=start.year + 1) - dt.timedelta(days=1)))
    known = set(session.scalars(sa.select(CouncilArea.code)))
    known |= {f"{g.kind.value}:{g.code}" for g in session.scalars(sa.select(AreaGroup))}
    lead_codes = {a.code for a in lead.areas}
    added = 0
    for geography, code, measure, value in TARGETS:
        if (code if geography == "council" else f"{geography}:{code}") not in known:
            continue
        for period_start, period_end in periods:
            session.add(
                Target(
                    geography=geography,
                    area_code=code,
                    measure=measure,
                    period_start=period_start,
                    period_end=period_end,
                    value=value,
                    set_by=lead if geography == "council" and code in lead_codes else admin,
                )
            )
            added += 1
    session.flush()
    return added


def _services(session: Session, organisation_id: int, treatment: bool) -> list[Service]:
    query = (
        sa.select(Service)
        .join(Service.primary_type)
        .where(
            Service.organisation_id == organisation_id,
            Service.accepts_custody_referrals,
            Service.status == ServiceStatus.ACTIVE,
        )
        .order_by(Service.id)
    )
    if treatment:
        query = query.where(ServiceType.code.in_(TREATMENT_TYPES))
    return list(session.scalars(query))


def _moment(day: dt.date, minutes: int, now: dt.datetime) -> dt.datetime:
    """``minutes`` past 09:00 local time on ``day``, never after ``now``."""
    local = dt.datetime.combine(day, dt.time(9), LONDON) + dt.timedelta(minutes=minutes)
    return min(local.astimezone(dt.UTC), now)


def add_showcase_referrals(
    session: Session,
    *,
    custody: User,
    provider: User,
    start_id: int,
    as_of: dt.date,
    now: dt.datetime,
) -> int:
    """Referrals from ``custody``'s suite to ``provider``'s organisation in every state
    (ids from ``start_id``). Returns how many; none when the provider has no services."""
    treatment = _services(session, provider.organisation_id, treatment=True)
    anything = _services(session, provider.organisation_id, treatment=False)
    home = custody.custody_suite.council_area
    districts = {
        d.district: d.council_area_id
        for d in session.scalars(
            sa.select(PostcodeDistrict).where(PostcodeDistrict.district.in_(DISTRICTS))
        )
    }
    if not anything:
        return 0
    referrals: list[dict] = []
    all_events: list[dict] = []
    for number, case in enumerate(CASES):
        pool = treatment if case.treatment and treatment else anything
        service = pool[number % len(pool)]
        made_on = as_of - dt.timedelta(days=case.days)
        district = DISTRICTS[number % len(DISTRICTS)]
        made_at = _moment(made_on, 17 * number, now - dt.timedelta(minutes=60 - number))
        reference = reference_for(start_id + number)
        person_ref = f"{custody.custody_suite.code}/{made_on:%y}/{900100 + number:06d}"
        referral = {
            "id": start_id + number,
            "uuid": uuid5(DEMO_UUIDS, reference),
            "reference": reference,
            "made_at": made_at,
            "referred_on": made_on,
            "custody_suite_id": custody.custody_suite_id,
            "referrer_id": custody.id,
            "pathway": case.pathway,
            "service_id": service.id,
            "person_ref": person_ref,
            "person_ref_hash": keyring().search_hash(person_ref),
            "age_band": AGE_BANDS[number % len(AGE_BANDS)],
            "sex": "female" if number % 3 == 1 else "male",
            "postcode_district": district,
            "council_area_id": districts.get(district, home.id),
            "consent_recorded": True,
            "consent_date": made_on,
            "substances": "benzodiazepines,opioids" if number % 2 else "cocaine,opioids",
            "needs": "harm_reduction,treatment" if number % 2 else "housing,treatment",
            "naloxone_offered": True,
            "naloxone_supplied": number % 2 == 0,
            "children_in_household": case.children,
            "same_day_urgent": case.urgent,
            "contact_method": "phone",
            "contact_name": f"Demo Person {number + 1}",
            "contact_phone": f"07700 900{900 + number:03d}",
            "notes": "Fictional: part of the demo data.",
            "status": "made",
            "created_at": made_at,
            # Every row has every column: one INSERT statement writes them all.
            **dict.fromkeys(STAGE_DATES.values()),
            **dict.fromkeys(
                ("days_to_engagement", "days_to_treatment", "decline_reason", "declined_by")
            ),
            "close_reason": None,
        }
        events = [
            {
                "referral_id": referral["id"],
                "user_id": custody.id,
                "from_status": None,
                "to_status": "made",
                "event_date": made_on,
                "at": made_at,
                "reason": None,
            }
        ]
        for stage, after in case.stages:
            on = made_on + dt.timedelta(days=after)
            at = max(_moment(on, 60 + 7 * len(events), now), events[-1]["at"])
            reason = case.reason if stage in ("declined", "closed") else None
            events.append(
                {
                    "referral_id": referral["id"],
                    "user_id": provider.id,
                    "from_status": referral["status"],
                    "to_status": stage,
                    "event_date": on,
                    "at": at,
                    "reason": reason,
                }
            )
            referral["status"] = stage
            referral[STAGE_DATES[stage]] = on
            if stage == "engaged":
                referral["days_to_engagement"] = after
            elif stage == "treatment_started":
                referral["days_to_treatment"] = after
            elif stage == "declined":
                referral["decline_reason"], referral["declined_by"] = reason, case.declined_by
            elif stage == "closed":
                referral["close_reason"] = reason
        referral["version"] = len(events)
        referral["updated_at"] = events[-1]["at"]
        referrals.append(referral)
        all_events += events
    # Written as the generator writes: the version column is the number of events.
    session.execute(sa.insert(Referral.__table__), referrals)
    session.execute(sa.insert(ReferralEvent.__table__), all_events)
    # Each from a custody contact, as every referral made in custody is.
    session.execute(
        sa.insert(CustodyContact.__table__),
        [
            {
                "custody_suite_id": r["custody_suite_id"],
                "contact_on": r["referred_on"],
                "recorded_at": r["made_at"],
                "recorded_by_id": r["referrer_id"],
                "age_band": r["age_band"],
                "sex": r["sex"],
                "postcode_district": r["postcode_district"],
                "council_area_id": r["council_area_id"],
                "offered": True,
                "outcome": "referral_made",
                "naloxone": naloxone_status(r["naloxone_offered"], r["naloxone_supplied"]).value,
                "veteran": None,
                "referral_id": r["id"],
                "version": 1,
                "updated_at": r["made_at"],
            }
            for r in referrals
        ],
    )
    session.flush()
    return len(CASES)
