"""A deterministic generator of demo referrals with their whole lifecycle.

Same database contents, ``seed`` and ``as_of`` date give exactly the same referrals.
Referral dates spread over the two years before ``as_of`` (more recent ones more
common); every referral gets the events of its lifecycle up to ``as_of``, so recent ones
are still open or overdue.

So that the reports have a postcode lottery to show, acceptance, engagement and
treatment start are drawn from logistic models with an effect per council area of
residence (rural and island areas a little lower), per pathway and per service, and
waiting times have a typical length per council area and a response speed per service.

After the first attendance come the outcomes after treatment starts: the 12-week check
(retained or completed, else dropped out or transferred, some closed before the check),
the diversion outcome for the diversion pathway, and blood-borne virus testing offered
and taken where that need was recorded. Every referral comes from a custody contact, and
each suite's contacts include those not referred (``contact_generator.py``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import uuid5
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contacts.models import CustodyContact
from ..encryption import Keyring, keyring
from ..models import Referral, ReferralEvent
from ..references import reference_for
from ..reports.contact_marks import marks_paused
from .bulk import bulk_insert, bulk_load_mode, reset_sequence
from .contact_generator import ContactMaker, SuiteRates
from .demo_directory import DEMO_UUIDS
from .demo_model import DemoModel, cumulative, logistic, pick
from .demo_values import (
    AGE_BANDS,
    CONTACT_COLUMNS,
    CONTACT_METHODS,
    DECLINE_BY_PROVIDER,
    EVENT_COLUMNS,
    FIRST_NAMES,
    LAST_NAMES,
    NEEDS,
    NO_ENGAGEMENT_CLOSURES,
    NOTES,
    PATHWAYS,
    REFERRAL_COLUMNS,
    SEXES,
    SUBSTANCES,
)

DAYS = 730
CHUNK = 50_000
LONDON = ZoneInfo("Europe/London")


@dataclass
class GeneratorResult:
    referrals: int
    events: int
    contacts: int = 0


def generate_referrals(
    session: Session,
    n: int,
    seed: int,
    as_of: dt.date,
    now: dt.datetime | None = None,
    contacts: int | None = None,
) -> GeneratorResult:
    """Write ``n`` referrals with their events, ids after the current highest, and the
    custody contacts they come from with those not referred (about ``contacts`` in all
    when given; otherwise as many as the suites' offer and acceptance rates imply).

    Uses bulk inserts on the session's connection; the caller commits.
    """
    rng = random.Random(seed)
    model = DemoModel(session, rng)
    rates = SuiteRates([s[0] for s in model.suites], rng)
    scale = _contact_scale(model, rates, n, contacts)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    now = now or dt.datetime.now(dt.UTC)
    start_id = (session.scalar(sa.select(sa.func.max(Referral.id))) or 0) + 1
    referrals: list[tuple] = []
    events: list[tuple] = []
    contact_rows: list[tuple] = []
    count = count_events = count_contacts = 0

    def flush() -> None:
        # Referrals first: their events and contacts refer to them.
        nonlocal count, count_events, count_contacts
        count += bulk_insert(connection, Referral.__table__, REFERRAL_COLUMNS, referrals)
        count_events += bulk_insert(connection, ReferralEvent.__table__, EVENT_COLUMNS, events)
        count_contacts += bulk_insert(
            connection, CustodyContact.__table__, CONTACT_COLUMNS, contact_rows
        )
        referrals.clear()
        events.clear()
        contact_rows.clear()

    tables = [Referral.__table__, ReferralEvent.__table__, CustodyContact.__table__]
    rows = _rows(model, rng, rates, scale, n, start_id, as_of, now, postgres)
    drop_indexes = n >= max(50_000, start_id)
    with bulk_load_mode(connection, tables, drop_indexes=drop_indexes), marks_paused(connection):
        for referral, referral_events, referral_contacts in _encrypted(rows, keyring()):
            referrals.append(referral)
            events.extend(referral_events)
            contact_rows.extend(referral_contacts)
            if len(referrals) >= CHUNK:
                flush()
        flush()
    reset_sequence(connection, Referral.__table__)
    session.expire_all()
    return GeneratorResult(referrals=count, events=count_events, contacts=count_contacts)


def _contact_scale(model: DemoModel, rates: SuiteRates, n: int, contacts: int | None) -> float:
    """How much to stretch the suites' contacts not referred to reach about ``contacts``."""
    if contacts is None or not n:
        return 1.0
    total = model.suite_cum[-1]
    weights = [b - a for a, b in zip([0.0, *model.suite_cum], model.suite_cum, strict=False)]
    others = sum(
        w / total * sum(rates.others_per_referral(suite[0]))
        for w, suite in zip(weights, model.suites, strict=True)
    )
    return max(contacts / n - 1, 0.0) / others


# Positions in a generated referral row of the fields stored encrypted (see
# encryption.py), and of the custody record number, whose keyed hash follows it.
_PERSON_REF = REFERRAL_COLUMNS.index("person_ref")
_ENCRYPTED = [REFERRAL_COLUMNS.index(c) for c in ("notes", "contact_name", "contact_phone")]


def _encrypted(rows, ring: Keyring) -> Iterator[tuple[tuple, list[tuple], list[tuple]]]:
    """The generated rows as stored: personal fields encrypted, the custody record
    number with its keyed hash."""
    encrypt, search_hash = ring.encrypt, ring.search_hash
    for referral, events, contacts in rows:
        row = list(referral)
        ref = row[_PERSON_REF]
        row[_PERSON_REF] = encrypt(ref)
        row[_PERSON_REF + 1] = search_hash(ref)
        for i in _ENCRYPTED:
            if row[i] is not None:
                row[i] = encrypt(row[i])
        yield tuple(row), events, contacts


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
        "outcomes",
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
        self.outcomes: dict[str, str] = {}  # column -> value, after treatment starts
        self.declined_by: str | None = None
        self.events = [(referral_id, made_text, referrer_id, None, "made", day_text, None)]

    def move(self, to: str, on: str, at: str, reason: str | None, day: int, event_reason=None):
        self.events.append(
            (self.referral_id, at, self.staff, self.status, to, on, event_reason or reason)
        )
        self.status = to
        self.dates[to] = on
        self.days[to] = day
        if reason:
            self.reasons[to] = reason

    def note(self, on: str, at: str, event_reason: str) -> None:
        """An event that changes no stage (an outcome recorded after treatment starts)."""
        self.events.append(
            (self.referral_id, at, self.staff, self.status, self.status, on, event_reason)
        )


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
# Outcomes that end the referral, and the close reason each gives.
_CLOSING = {
    ("retention", "completed"): "completed",
    ("retention", "dropped_out"): "disengaged",
    ("retention", "transferred"): "transferred",
    ("diversion", "completed"): "completed",
    ("diversion", "not_completed"): "disengaged",
}


def _combinations(rng: random.Random, weights: dict[str, int], count: int = 1024) -> list[str]:
    """``count`` comma-joined sets of one to three weighted codes, to draw from cheaply."""
    keys, cum = cumulative(weights)
    return [
        ",".join(sorted({pick(rng, keys, cum) for _ in range(1 + int(rng.random() * 3))}))
        for _ in range(count)
    ]


def _rows(
    model: DemoModel,
    rng: random.Random,
    rates: SuiteRates,
    scale: float,
    n: int,
    start_id: int,
    as_of: dt.date,
    now: dt.datetime,
    postgres: bool,
) -> Iterator[tuple[tuple, list[tuple], list[tuple]]]:
    """Yield ``(referral row, event rows, contact rows)`` for ``n`` referrals.

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

    def moment(trail: _Trail, day: int) -> str:
        """When a change on ``day`` is recorded: that day or within a few days, in working
        hours, and after the referral's previous event."""
        lag = day + int(r() * 3)
        at = midnight[lag if lag < as_of_ord else as_of_ord] + 32_400 + int(r() * 28_800)
        floor = trail.clock + 300 + int(r() * 7200)
        trail.clock = at if at > floor else floor
        return stamp(trail.clock)

    def advance(trail: _Trail, to: str, day: int, reason: str | None = None, event_reason=None):
        trail.move(to, date_text[day], moment(trail, day), reason, day, event_reason)

    def after_attending(trail: _Trail, attend: int, area, service, pathway, bbv) -> None:
        """Treatment start, the 12-week check, the diversion outcome and BBV testing:
        planned by date, then recorded in order until the referral closes or the plan
        passes ``as_of``."""
        plan: list[tuple[int, int, str, str]] = []  # (day, order, kind, value)
        if r() >= logistic(0.8 + area["treat"] + 0.5 * service["effect"]):
            plan.append((attend + 20 + int(r() * 70), 9, "close", "disengaged"))
        else:
            start = attend + int(expovariate(area["wait_rate"]))
            plan.append((start, 0, "start", ""))
            check = start + 84 + int(r() * 14)
            if r() < logistic(1.0 + 0.6 * area["treat"] + 0.4 * service["effect"]):
                if r() < 0.12:
                    plan.append((check, 5, "retention", "completed"))
                else:
                    plan.append((check, 5, "retention", "retained"))
                    if r() < 0.45:
                        reason = "completed" if r() < 0.75 else "disengaged"
                        plan.append((check + 30 + int(r() * 270), 9, "close", reason))
            else:
                roll = r()
                if roll < 0.45:  # dropped out and closed before the check
                    plan.append((start + 14 + int(r() * 66), 9, "close", "disengaged"))
                elif roll < 0.88:
                    plan.append((check, 5, "retention", "dropped_out"))
                else:
                    plan.append((check, 5, "retention", "transferred"))
        if pathway == "diversion":
            completed = r() < logistic(0.9 + 0.5 * area["engage"])
            value = "completed" if completed else "not_completed"
            plan.append((attend + 42 + int(r() * 80), 6, "diversion", value))
        if bbv and r() < 0.8:
            offered = attend + int(r() * 10)
            plan.append((offered, 1, "bbv", "offered"))
            if r() < 0.65:
                plan.append((offered + int(r() * 21), 2, "bbv", "taken"))
        for day, _, kind, value in sorted(plan):
            if day > as_of_ord or trail.status == "closed":
                break
            on = date_text[day]
            if kind == "start":
                advance(trail, "treatment_started", day)
            elif kind == "close":
                advance(trail, "closed", day, value)
            elif kind == "bbv":
                trail.note(on, moment(trail, day), f"bbv:{value}")
                trail.outcomes.setdefault("bbv_test_offered_on", on)
                if value == "taken":
                    trail.outcomes["bbv_test_taken_on"] = on
            elif kind == "retention" and trail.status != "treatment_started":
                continue
            else:
                trail.outcomes[f"{kind}_outcome"] = value
                trail.outcomes[f"{kind}_outcome_on"] = on
                closing = _CLOSING.get((kind, value))
                if closing:
                    advance(trail, "closed", day, closing, f"{kind}:{value}")
                else:
                    trail.note(on, moment(trail, day), f"{kind}:{value}")

    pathway_keys, pathway_cum = cumulative({k: v[0] for k, v in PATHWAYS.items()})
    age_keys, age_cum = cumulative(AGE_BANDS)
    sex_keys, sex_cum = cumulative(SEXES)
    contact_keys, contact_cum = cumulative(CONTACT_METHODS)
    closure_keys, closure_cum = cumulative(NO_ENGAGEMENT_CLOSURES)
    substance_sets = _combinations(rng, SUBSTANCES)
    need_sets = _combinations(rng, NEEDS)
    suite_cum, suite_total = model.suite_cum, model.suite_cum[-1]
    last_suite = len(model.suites) - 1
    all_ids, all_cum = model.all_councils
    n_first, n_last, n_notes = len(FIRST_NAMES), len(LAST_NAMES), len(NOTES)
    maker = ContactMaker(
        model,
        rng,
        rates,
        scale,
        first_day=first_ord,
        last_day=as_of_ord,
        date_text=date_text,
        midnight=midnight,
        stamp=stamp,
    )

    for referral_id in range(start_id, start_id + n):
        index = min(bisect_right(suite_cum, r() * suite_total), last_suite)
        suite_id, suite_code, _, referrer_id = model.suites[index]
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
        needs = need_sets[int(r() * 1024)]

        day = as_of_ord - int(DAYS * r() ** 1.15)
        if day <= first_ord:
            day = first_ord + 1
        made = midnight[day] + int(r() * 86_399)
        if made > now_ts:
            made = now_ts - int(r() * 36_000)
        made_text = stamp(made)
        day_text = date_text[day]
        offered = r() < 0.72
        supplied = offered and r() < 0.6
        contact = contact_keys[bisect_right(contact_cum, r() * contact_cum[-1])]

        trail = _Trail(referral_id, referrer_id, service["staff"], made, made_text, day_text)
        if r() < 0.004:
            advance(trail, "closed", day, "entered_in_error")
        else:
            respond = day + int(expovariate(service["respond_rate"]))
            if respond > as_of_ord:
                pass  # still awaiting a response
            elif r() < logistic(1.6 + area["accept"] + 0.5 * service["effect"]):
                advance(trail, "accepted", respond)
                p_engage = logistic(
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
                        after_attending(trail, attend, area, service, pathway, "bbv" in needs)
            elif r() < 0.6:
                trail.declined_by = "provider"
                reason = DECLINE_BY_PROVIDER[int(r() * len(DECLINE_BY_PROVIDER))]
                advance(trail, "declined", respond, reason)
            else:
                trail.declined_by = "person"
                advance(trail, "declined", respond, "person_declined")

        age_band = age_keys[bisect_right(age_cum, r() * age_cum[-1])]
        sex = sex_keys[bisect_right(sex_cum, r() * sex_cum[-1])]
        events, dates, reasons, outcomes = trail.events, trail.dates, trail.reasons, trail.outcomes
        contacts = maker.others(index, day)
        contacts.append(
            maker.for_referral(
                referral_id,
                suite_id,
                referrer_id,
                made_text,
                day_text,
                age_band,
                sex,
                district,
                council_id,
                offered,
                supplied,
            )
        )
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
                age_band,
                sex,
                district,
                council_id,
                True,
                day_text,
                substance_sets[int(r() * 1024)],
                needs,
                offered,
                supplied,
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
                outcomes.get("retention_outcome"),
                outcomes.get("retention_outcome_on"),
                outcomes.get("diversion_outcome"),
                outcomes.get("diversion_outcome_on"),
                outcomes.get("bbv_test_offered_on"),
                outcomes.get("bbv_test_taken_on"),
                len(events),
                made_text,
                events[-1][1],
            ),
            events,
            contacts,
        )


def delete_all_referrals(session: Session) -> int:
    """Remove every referral with its events and every custody contact (used to
    regenerate demo data)."""
    session.execute(sa.delete(CustodyContact.__table__))
    session.execute(sa.delete(ReferralEvent.__table__))
    result = session.execute(sa.delete(Referral.__table__))
    session.expire_all()
    return result.rowcount or 0
