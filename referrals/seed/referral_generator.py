"""A deterministic generator of demo referrals with their whole lifecycle.

Same database contents, ``seed`` and ``as_of`` date give exactly the same referrals.
Referral dates spread over the two years before ``as_of`` (more recent ones more
common); every referral gets the events of its lifecycle up to ``as_of``, so recent ones
are still open or overdue.

So that the reports have a postcode lottery to show, acceptance, engagement and
treatment start are drawn from logistic models with an effect per council area of
residence (rural and island areas a little lower), per pathway and per service, and
waiting times have a typical length per council area and a response speed per service.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid5
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..encryption import Keyring, keyring
from ..models import (
    CouncilArea,
    CustodySuite,
    Location,
    PostcodeDistrict,
    Referral,
    ReferralEvent,
    Service,
    ServiceType,
    User,
    service_areas,
)
from ..references import reference_for
from .bulk import bulk_insert, bulk_load_mode, reset_sequence
from .demo_directory import DEMO_UUIDS, ISLAND_CODES, RURAL_CODES

DAYS = 730
CHUNK = 50_000
LONDON = ZoneInfo("Europe/London")

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


@dataclass
class GeneratorResult:
    referrals: int
    events: int


def _cumulative(weights: dict) -> tuple[list, list[float]]:
    keys = list(weights)
    return keys, list(itertools.accumulate(float(weights[k]) for k in keys))


def _pick(rng: random.Random, keys: list, cum: list[float]):
    return keys[bisect.bisect_right(cum, rng.random() * cum[-1])]


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Model:
    """Everything the generator draws from, read from the database once."""

    def __init__(self, session: Session, rng: random.Random):
        councils = list(session.scalars(sa.select(CouncilArea).order_by(CouncilArea.code)))
        if not councils:
            raise ValueError("Load the reference data first (seed-reference).")
        self.councils = {c.id: c for c in councils}
        districts: dict[int, list[str]] = defaultdict(list)
        for d in session.scalars(sa.select(PostcodeDistrict).order_by(PostcodeDistrict.district)):
            districts[d.council_area_id].append(d.district)
        self.districts = districts

        # Per-area effects, drawn in a fixed order so a seed always gives the same ones.
        self.area = {}
        for c in councils:
            remote = -0.3 if c.code in ISLAND_CODES or c.code in RURAL_CODES else 0.0
            self.area[c.id] = {
                "accept": rng.gauss(0, 0.5),
                "engage": rng.gauss(0, 0.6) + remote,
                "treat": rng.gauss(0, 0.5),
                "attend_rate": 1 / rng.uniform(4, 20),  # per day: mean 4 to 20 days
                "wait_rate": 1 / rng.uniform(6, 32),
            }

        suites = list(session.scalars(sa.select(CustodySuite).order_by(CustodySuite.code)))
        referrers = {
            u.custody_suite_id: u.id
            for u in session.scalars(
                sa.select(User).where(User.role == "custody").order_by(User.active, User.id)
            )
        }
        missing = [s.code for s in suites if s.id not in referrers]
        if missing:
            raise ValueError(f"No custody user for suite(s) {', '.join(missing)}")
        self.suites = [(s.id, s.code, s.council_area_id, referrers[s.id]) for s in suites]
        suite_weights = [float(self.councils[s.council_area_id].population or 1) for s in suites]
        # Several suites in one council share its weight.
        per_council = defaultdict(int)
        for s in suites:
            per_council[s.council_area_id] += 1
        suite_weights = [
            w / per_council[s.council_area_id] for w, s in zip(suite_weights, suites, strict=True)
        ]
        self.suite_cum = list(itertools.accumulate(suite_weights))

        by_division: dict[int, list[CouncilArea]] = defaultdict(list)
        for c in councils:
            by_division[c.police_division_id].append(c)
        self.residence: dict[int, tuple[int, list[int], list[float]]] = {}
        all_ids = [c.id for c in councils]
        all_cum = list(itertools.accumulate(float(c.population or 1) for c in councils))
        for s in suites:
            home = self.councils[s.council_area_id]
            division = by_division[home.police_division_id]
            ids = [c.id for c in division]
            cum = list(itertools.accumulate(float(c.population or 1) for c in division))
            self.residence[s.id] = (home.id, ids, cum)
        self.all_councils = (all_ids, all_cum)

        self._load_services(session, rng)

    def _load_services(self, session: Session, rng: random.Random) -> None:
        rows = session.execute(
            sa.select(
                Service.id, Service.organisation_id, ServiceType.code, Location.council_area_id
            )
            .join(ServiceType, Service.primary_type_id == ServiceType.id)
            .join(Location, Location.service_id == Service.id)
            .where(Service.accepts_custody_referrals, Service.status == ServiceStatus.ACTIVE)
            .order_by(Service.id, Location.id)
        ).all()
        served = defaultdict(set)
        for service_id, council_id in session.execute(
            sa.select(service_areas.c.service_id, service_areas.c.council_area_id)
        ):
            served[service_id].add(council_id)
        staff = {
            u.organisation_id: u.id
            for u in session.scalars(
                sa.select(User).where(User.role == "provider").order_by(User.active, User.id)
            )
        }
        self.service = {}
        by_council: dict[int, list[int]] = defaultdict(list)
        board_of = {c.id: c.health_board_id for c in self.councils.values()}
        by_board: dict[int, list[int]] = defaultdict(list)
        for service_id, org_id, type_code, council_id in rows:
            if service_id in self.service:
                continue
            self.service[service_id] = {
                "org": org_id,
                "staff": staff.get(org_id),
                "pull": SERVICE_TYPE_PULL.get(type_code, 1),
                "effect": rng.gauss(0, 0.35),
                "respond_rate": 1 / rng.choice([0.7, 1.2, 2.0, 3.0, 5.0, 8.0]),
            }
            for area in served[service_id] | {council_id}:
                by_council[area].append(service_id)
            by_board[board_of[council_id]].append(service_id)
        self.candidates: dict[int, tuple[list[int], list[float]]] = {}
        for council_id, council in self.councils.items():
            ids = sorted(
                set(
                    by_council.get(council_id)
                    or by_board.get(council.health_board_id)
                    or self.service
                )
            )
            cum = list(itertools.accumulate(float(self.service[i]["pull"]) for i in ids))
            self.candidates[council_id] = (ids, cum)
        if not self.service:
            raise ValueError(
                "No active services accept custody referrals: load the demo directory."
            )


def generate_referrals(
    session: Session, n: int, seed: int, as_of: dt.date, now: dt.datetime | None = None
) -> GeneratorResult:
    """Write ``n`` referrals with their events, ids after the current highest.

    Uses bulk inserts on the session's connection; the caller commits.
    """
    rng = random.Random(seed)
    model = _Model(session, rng)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    now = now or dt.datetime.now(dt.UTC)
    start_id = (session.scalar(sa.select(sa.func.max(Referral.id))) or 0) + 1
    referrals: list[tuple] = []
    events: list[tuple] = []
    count = count_events = 0

    def flush() -> None:
        # Referrals first: their events refer to them.
        nonlocal count, count_events
        count += bulk_insert(connection, Referral.__table__, REFERRAL_COLUMNS, referrals)
        count_events += bulk_insert(connection, ReferralEvent.__table__, EVENT_COLUMNS, events)
        referrals.clear()
        events.clear()

    tables = [Referral.__table__, ReferralEvent.__table__]
    with bulk_load_mode(connection, tables, drop_indexes=n >= max(50_000, start_id)):
        rows = _rows(model, rng, n, start_id, as_of, now, postgres)
        for referral, referral_events in _encrypted(rows, keyring()):
            referrals.append(referral)
            events.extend(referral_events)
            if len(referrals) >= CHUNK:
                flush()
        flush()
    reset_sequence(connection, Referral.__table__)
    session.expire_all()
    return GeneratorResult(referrals=count, events=count_events)


# Positions in a generated referral row of the fields stored encrypted (see
# encryption.py), and of the custody record number, whose keyed hash follows it.
_PERSON_REF = REFERRAL_COLUMNS.index("person_ref")
_ENCRYPTED = [REFERRAL_COLUMNS.index(c) for c in ("notes", "contact_name", "contact_phone")]


def _encrypted(rows, ring: Keyring) -> Iterator[tuple[tuple, list[tuple]]]:
    """The generated rows as stored: personal fields encrypted, the custody record
    number with its keyed hash."""
    encrypt, search_hash = ring.encrypt, ring.search_hash
    for referral, events in rows:
        row = list(referral)
        ref = row[_PERSON_REF]
        row[_PERSON_REF] = encrypt(ref)
        row[_PERSON_REF + 1] = search_hash(ref)
        for i in _ENCRYPTED:
            if row[i] is not None:
                row[i] = encrypt(row[i])
        yield tuple(row), events


class _Trail:
    """One referral's lifecycle as it is generated: its state, stage dates and events.

    ``clock`` is when the last event was recorded, in seconds since the epoch (UTC).
    """

    __slots__ = (
        "clock",
        "dates",
        "days",
        "declined_by",
        "events",
        "reasons",
        "referral_id",
        "staff",
        "status",
    )

    def __init__(self, referral_id, referrer_id, staff, made, made_text, day_text):
        self.referral_id = referral_id
        self.staff = staff
        self.clock = made
        self.status = "made"
        self.dates: dict[str, str] = {}
        self.days: dict[str, int] = {}  # stage -> ordinal of its date
        self.reasons: dict[str, str] = {}
        self.declined_by: str | None = None
        self.events = [(referral_id, made_text, referrer_id, None, "made", day_text, None)]

    def move(self, to: str, on: str, at: str, reason: str | None, day: int) -> None:
        self.events.append((self.referral_id, at, self.staff, self.status, to, on, reason))
        self.status = to
        self.dates[to] = on
        self.days[to] = day
        if reason:
            self.reasons[to] = reason


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _combinations(rng: random.Random, weights: dict[str, int], count: int = 1024) -> list[str]:
    """``count`` comma-joined sets of one to three weighted codes, to draw from cheaply."""
    keys, cum = _cumulative(weights)
    return [
        ",".join(sorted({_pick(rng, keys, cum) for _ in range(1 + int(rng.random() * 3))}))
        for _ in range(count)
    ]


def _rows(
    model: _Model,
    rng: random.Random,
    n: int,
    start_id: int,
    as_of: dt.date,
    now: dt.datetime,
    postgres: bool,
) -> Iterator[tuple[tuple, list[tuple]]]:
    """Yield ``(referral row, event rows)`` for ``n`` referrals.

    Written for speed (a million referrals in well under a minute): times are whole
    seconds since the epoch, and dates and timestamps are formatted from tables.
    """
    r = rng.random
    expovariate = rng.expovariate
    bisect_right = bisect.bisect_right
    as_of_ord = as_of.toordinal()
    first_ord = as_of_ord - DAYS
    now_ts = int(now.timestamp())
    date_text = {
        o: dt.date.fromordinal(o).isoformat() for o in range(first_ord - 2, as_of_ord + 400)
    }
    # Seconds since the epoch of local (Europe/London) midnight, per day.
    midnight = {
        o: int(dt.datetime.combine(dt.date.fromordinal(o), dt.time(), LONDON).timestamp())
        for o in range(first_ord - 1, as_of_ord + 1)
    }
    suffix = "+00" if postgres else ""

    def stamp(ts: int) -> str:
        if ts > now_ts:
            ts = now_ts
        days, seconds = divmod(ts, 86_400)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return (
            f"{date_text[days + _EPOCH_ORDINAL]} {hours:02d}:{minutes:02d}:{seconds:02d}{suffix}"
        )

    def advance(trail: _Trail, to: str, day: int, reason: str | None = None) -> None:
        """Move ``trail`` to ``to`` on ``day``. The change is recorded that day or within
        a few days, in working hours, and after the referral's previous event."""
        lag = day + int(r() * 3)
        moment = midnight[lag if lag < as_of_ord else as_of_ord] + 32_400 + int(r() * 28_800)
        floor = trail.clock + 300 + int(r() * 7200)
        trail.clock = moment if moment > floor else floor
        trail.move(to, date_text[day], stamp(trail.clock), reason, day)

    pathway_keys, pathway_cum = _cumulative({k: v[0] for k, v in PATHWAYS.items()})
    age_keys, age_cum = _cumulative(AGE_BANDS)
    sex_keys, sex_cum = _cumulative(SEXES)
    contact_keys, contact_cum = _cumulative(CONTACT_METHODS)
    closure_keys, closure_cum = _cumulative(NO_ENGAGEMENT_CLOSURES)
    substance_sets = _combinations(rng, SUBSTANCES)
    need_sets = _combinations(rng, NEEDS)
    suite_cum, suite_total = model.suite_cum, model.suite_cum[-1]
    last_suite = len(model.suites) - 1
    all_ids, all_cum = model.all_councils
    n_first, n_last, n_notes = len(FIRST_NAMES), len(LAST_NAMES), len(NOTES)

    for referral_id in range(start_id, start_id + n):
        index = bisect_right(suite_cum, r() * suite_total)
        suite_id, suite_code, _, referrer_id = model.suites[min(index, last_suite)]
        roll = r()
        home_id, division_ids, division_cum = model.residence[suite_id]
        if roll < 0.62:
            council_id = home_id
        elif roll < 0.93:
            council_id = division_ids[bisect_right(division_cum, r() * division_cum[-1])]
        else:
            council_id = all_ids[bisect_right(all_cum, r() * all_cum[-1])]
        districts = model.districts[council_id]
        district = districts[int(r() * len(districts))] if r() < 0.97 else None
        service_ids, service_cum = model.candidates[council_id]
        service_id = service_ids[bisect_right(service_cum, r() * service_cum[-1])]
        service = model.service[service_id]
        area = model.area[council_id]
        pathway = pathway_keys[bisect_right(pathway_cum, r() * pathway_cum[-1])]

        day = as_of_ord - int(DAYS * r() ** 1.15)
        if day <= first_ord:
            day = first_ord + 1
        made = midnight[day] + int(r() * 86_399)
        if made > now_ts:
            made = now_ts - int(r() * 36_000)
        made_text = stamp(made)
        day_text = date_text[day]
        offered = r() < 0.72
        contact = contact_keys[bisect_right(contact_cum, r() * contact_cum[-1])]

        trail = _Trail(referral_id, referrer_id, service["staff"], made, made_text, day_text)
        if r() < 0.004:
            advance(trail, "closed", day, "entered_in_error")
        else:
            respond = day + int(expovariate(service["respond_rate"]))
            if respond > as_of_ord:
                pass  # still awaiting a response
            elif r() < _logistic(1.6 + area["accept"] + 0.5 * service["effect"]):
                advance(trail, "accepted", respond)
                p_engage = _logistic(
                    0.5 + area["engage"] + PATHWAYS[pathway][1] + service["effect"]
                )
                if r() >= p_engage:
                    end = respond + 21 + int(r() * 40)
                    if end <= as_of_ord:
                        reason = closure_keys[bisect_right(closure_cum, r() * closure_cum[-1])]
                        advance(trail, "closed", end, reason)
                else:
                    attend = respond + int(expovariate(area["attend_rate"]))
                    if attend <= as_of_ord:
                        advance(trail, "engaged", attend)
                        if r() >= _logistic(0.8 + area["treat"] + 0.5 * service["effect"]):
                            end = attend + 20 + int(r() * 70)
                            if end <= as_of_ord:
                                advance(trail, "closed", end, "disengaged")
                        else:
                            start = attend + int(expovariate(area["wait_rate"]))
                            if start <= as_of_ord:
                                advance(trail, "treatment_started", start)
                                end = start + 60 + int(r() * 240)
                                if end <= as_of_ord and r() < 0.35:
                                    reason = "completed" if r() < 0.8 else "disengaged"
                                    advance(trail, "closed", end, reason)
            elif r() < 0.6:
                trail.declined_by = "provider"
                reason = DECLINE_BY_PROVIDER[int(r() * len(DECLINE_BY_PROVIDER))]
                advance(trail, "declined", respond, reason)
            else:
                trail.declined_by = "person"
                advance(trail, "declined", respond, "person_declined")

        events, dates, reasons = trail.events, trail.dates, trail.reasons
        reference = reference_for(referral_id)
        public_id = uuid5(DEMO_UUIDS, reference)
        yield (
            (
                referral_id,
                reference,
                str(public_id) if postgres else public_id.hex,
                made_text,
                day_text,
                suite_id,
                referrer_id,
                pathway,
                service_id,
                f"{suite_code}/{day_text[2:4]}/{int(r() * 1_000_000):06d}",
                None,  # the custody record number's keyed hash, added by _encrypted
                age_keys[bisect_right(age_cum, r() * age_cum[-1])],
                sex_keys[bisect_right(sex_cum, r() * sex_cum[-1])],
                district,
                council_id,
                True,
                day_text,
                substance_sets[int(r() * 1024)],
                need_sets[int(r() * 1024)],
                offered,
                offered and r() < 0.6,
                r() < 0.22,
                r() < 0.12,
                NOTES[int(r() * n_notes)],
                None
                if contact == "self_present"
                else f"{FIRST_NAMES[int(r() * n_first)]} {LAST_NAMES[int(r() * n_last)]}",
                None
                if contact in ("self_present", "letter", "via_referrer")
                else f"07700 900{int(r() * 1000):03d}",
                contact,
                trail.status,
                dates.get("accepted"),
                dates.get("declined"),
                trail.declined_by,
                reasons.get("declined"),
                dates.get("engaged"),
                dates.get("treatment_started"),
                dates.get("closed"),
                reasons.get("closed"),
                trail.days["engaged"] - day if "engaged" in trail.days else None,
                trail.days["treatment_started"] - day
                if "treatment_started" in trail.days
                else None,
                len(events),
                made_text,
                events[-1][1],
            ),
            events,
        )


def delete_all_referrals(session: Session) -> int:
    """Remove every referral and its events (used to regenerate demo data)."""
    session.execute(sa.delete(ReferralEvent.__table__))
    result = session.execute(sa.delete(Referral.__table__))
    session.expire_all()
    return result.rowcount or 0
