"""Demo custody contacts, generated alongside the demo referrals.

Every generated referral comes from a contact whose outcome is "referral made", on the
referral's date, with its age band, sex, district and council, and a naloxone status
that agrees with its two naloxone boxes. Around each referral the suite also saw people
who were not referred: offers declined (with a reason), and people not offered (not
suitable, already in treatment, or released before being seen).

Each suite has its own offer rate and its own share of offers accepted, so the referral
success rate and the offer rate differ by suite as engagement differs by area: the
number of declined and not-offered contacts per referral is drawn from a Poisson
distribution whose mean follows from the suite's two rates:

    declined per referral    = (1 - accepted) / accepted
    not offered per referral = (1 - offered) / (offered * accepted)

``scale`` stretches both means, so a benchmark can ask for a total number of contacts.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable

from .demo_model import cumulative, logistic
from .demo_values import (
    AGE_BANDS,
    CONTACT_DECLINE_REASONS,
    NOT_OFFERED_OUTCOMES,
    NOT_SUITABLE_REASONS,
    SEXES,
    VETERAN,
)

MAX_PER_REFERRAL = 40
LOOKUP = 1000


def _poisson_table(mean: float) -> list[float]:
    """Cumulative probabilities of 0, 1, 2, ... for a Poisson mean."""
    term, total, table = math.exp(-mean), 0.0, []
    for k in range(MAX_PER_REFERRAL):
        total += term
        table.append(total)
        term *= mean / (k + 1)
    return table


class SuiteRates:
    """Each suite's offer rate, share of offers accepted and naloxone offer rate, drawn
    in suite order so a seed always gives the same ones."""

    def __init__(self, suite_ids: list[int], rng: random.Random):
        self.offered, self.accepted, self.naloxone = {}, {}, {}
        for suite_id in suite_ids:
            self.offered[suite_id] = logistic(1.1 + rng.gauss(0, 0.6))
            self.accepted[suite_id] = logistic(-0.1 + rng.gauss(0, 0.55))
            self.naloxone[suite_id] = logistic(0.4 + rng.gauss(0, 0.8))

    def others_per_referral(self, suite_id: int) -> tuple[float, float]:
        offered, accepted = self.offered[suite_id], self.accepted[suite_id]
        return (1 - accepted) / accepted, (1 - offered) / (offered * accepted)


class ContactMaker:
    """Builds contact rows (``demo_values.CONTACT_COLUMNS``) for the referral generator."""

    def __init__(
        self,
        model,
        rng: random.Random,
        rates: SuiteRates,
        scale: float,
        *,
        first_day: int,
        last_day: int,
        date_text: dict[int, str],
        midnight: dict[int, int],
        stamp: Callable[[int], str],
    ):
        self.model, self.r, self.rates = model, rng.random, rates
        self.first_day, self.last_day = first_day, last_day
        self.date_text, self.midnight, self.stamp = date_text, midnight, stamp
        self.tables = {}
        for suite_id, *_ in model.suites:
            declined, not_offered = rates.others_per_referral(suite_id)
            self.tables[suite_id] = (
                _poisson_table(declined * scale),
                _poisson_table(not_offered * scale),
            )
        # Weighted choices as lookup lists: one random number and one index per draw.
        self.age = _lookup(AGE_BANDS)
        self.sex = _lookup(SEXES)
        self.declines = _lookup(CONTACT_DECLINE_REASONS)
        self.unsuitable = _lookup(NOT_SUITABLE_REASONS)
        self.not_offered = _lookup(NOT_OFFERED_OUTCOMES)
        self.veteran = [{"yes": True, "no": False, "not_asked": None}[v] for v in _lookup(VETERAN)]

    def for_referral(
        self,
        referral_id: int,
        suite_id: int,
        recorder_id: int,
        made_text: str,
        day_text: str,
        age_band: str,
        sex: str,
        district: str | None,
        council_id: int,
        naloxone_offered: bool,
        naloxone_supplied: bool,
    ) -> tuple:
        """The contact a generated referral comes from."""
        r = self.r
        if naloxone_supplied:
            naloxone = "supplied"
        elif naloxone_offered:
            naloxone = "declined" if r() < 0.7 else "offered"
        else:
            naloxone = "already_carries" if r() < 0.25 else "not_offered"
        return (
            suite_id,
            day_text,
            made_text,
            recorder_id,
            age_band,
            sex,
            district,
            council_id,
            True,
            "referral_made",
            None,
            None,
            None,
            naloxone,
            self.veteran[int(r() * LOOKUP)],
            referral_id,
            1,
            made_text,
        )

    def others(self, suite_index: int, day: int) -> list[tuple]:
        """The people seen at the suite around ``day`` who were not referred.

        Written for speed (three million contacts for a benchmark): lookups are bound
        to local names and weighted choices come from lookup lists."""
        r, model, bisect_right = self.r, self.model, bisect.bisect_right
        suite_id, _, home_id, recorder_id = model.suites[suite_index]
        declined_cum, not_offered_cum = self.tables[suite_id]
        declined = bisect_right(declined_cum, r())
        count = declined + bisect_right(not_offered_cum, r())
        if not count:
            return []
        home, division_ids, division_cum = model.residence[suite_id]
        all_ids, all_cum = model.all_councils
        districts_of, candidates = model.districts, model.candidates
        first, last, date_text, midnight, stamp = (
            self.first_day + 1,
            self.last_day,
            self.date_text,
            self.midnight,
            self.stamp,
        )
        age, sex, veteran = self.age, self.sex, self.veteran
        naloxone_chance = self.rates.naloxone[suite_id]
        rows = []
        for number in range(count):
            on = min(max(day + int(r() * 7) - 3, first), last)
            recorded = stamp(midnight[on] + 28_800 + int(r() * 50_400))
            roll = r()
            if roll < 0.62:
                council_id = home
            elif roll < 0.93:
                council_id = division_ids[bisect_right(division_cum, r() * division_cum[-1])]
            else:
                council_id = all_ids[bisect_right(all_cum, r() * all_cum[-1])]
            if r() < 0.96:
                districts = districts_of[council_id]
                district = districts[int(r() * len(districts))]
            else:
                district, council_id = None, home_id  # no fixed abode: the suite's council
            decline_reason = unsuitable_reason = service_id = None
            chance = naloxone_chance
            if number < declined:
                offered, outcome = True, "declined"
                decline_reason = self.declines[int(r() * LOOKUP)]
            else:
                outcome = self.not_offered[int(r() * LOOKUP)]
                offered = False
                if outcome == "not_suitable":
                    unsuitable_reason = self.unsuitable[int(r() * LOOKUP)]
                elif outcome == "already_in_treatment":
                    offered = r() < 0.2
                    if r() < 0.6:
                        service_ids, service_cum = candidates[council_id]
                        service_id = service_ids[bisect_right(service_cum, r() * service_cum[-1])]
                else:
                    chance *= 0.3  # released: naloxone given at release, sometimes
            if r() < 0.12:
                naloxone = "already_carries"
            elif r() >= chance:
                naloxone = "not_offered"
            else:
                roll = r()
                naloxone = "supplied" if roll < 0.65 else "declined" if roll < 0.95 else "offered"
            rows.append(
                (
                    suite_id,
                    date_text[on],
                    recorded,
                    recorder_id,
                    age[int(r() * LOOKUP)],
                    sex[int(r() * LOOKUP)],
                    district,
                    council_id,
                    offered,
                    outcome,
                    decline_reason,
                    unsuitable_reason,
                    service_id,
                    naloxone,
                    veteran[int(r() * LOOKUP)],
                    None,
                    1,
                    recorded,
                )
            )
        return rows


def _lookup(weights: dict) -> list:
    """``LOOKUP`` values in proportion to ``weights``, to draw from by index."""
    keys, cum = cumulative(weights)
    return [keys[bisect.bisect_right(cum, (i + 0.5) / LOOKUP * cum[-1])] for i in range(LOOKUP)]
