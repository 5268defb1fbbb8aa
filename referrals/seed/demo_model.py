"""What the demo referral generator draws from, read from the database once: councils
with their effects on the lifecycle, suites with a referrer each, where people live, and
the services custody staff refer to with their effects and response speeds."""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..models import (
    CouncilArea,
    CustodySuite,
    Location,
    PostcodeDistrict,
    Service,
    ServiceType,
    User,
    service_areas,
)
from .demo_directory import ISLAND_CODES, RURAL_CODES
from .demo_values import SERVICE_TYPE_PULL


def cumulative(weights: dict) -> tuple[list, list[float]]:
    keys = list(weights)
    return keys, list(itertools.accumulate(float(weights[k]) for k in keys))


def pick(rng: random.Random, keys: list, cum: list[float]):
    return keys[bisect.bisect_right(cum, rng.random() * cum[-1])]


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class DemoModel:
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
