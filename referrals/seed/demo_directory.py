"""The demo directory: fictional organisations running services in real towns.

Coverage is deliberately uneven: cities get a service per ~14,000 people, towns per
~20,000, rural council areas per ~32,000 and the islands a handful, with a random
factor per area on top, so the map and the reports show gaps worth finding.

Everything is derived from a fixed random seed, so the directory is the same on every
machine, down to the UUIDs the API names records by. Phone numbers are from Ofcom's
ranges reserved for drama, web and email addresses use the reserved ``.example`` domain.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from uuid import UUID, uuid5

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Gender, ServiceStatus
from ..models import (
    CouncilArea,
    Location,
    OpeningHours,
    Organisation,
    Place,
    PostcodeDistrict,
    Service,
    ServiceType,
)

DIRECTORY_SEED = 2026
# Demo records' UUIDs are derived from their external ids (and generated referrals' from
# their references) in this namespace, so they are the same on every machine.
DEMO_UUIDS = UUID("c7c5a27a-87c0-4921-941c-d7e2b6e72c2c")
CITY_CODES = {"S12000049", "S12000036", "S12000042", "S12000033"}  # Glasgow, Edinburgh...
RURAL_CODES = {
    "S12000017",  # Highland
    "S12000035",  # Argyll and Bute
    "S12000006",  # Dumfries and Galloway
    "S12000026",  # Scottish Borders
    "S12000034",  # Aberdeenshire
    "S12000020",  # Moray
    "S12000041",  # Angus
    "S12000048",  # Perth and Kinross
    "S12000030",  # Stirling
}
ISLAND_CODES = {"S12000013", "S12000023", "S12000027"}
PEOPLE_PER_SERVICE = {"city": 14_000, "urban": 20_000, "rural": 32_000, "island": 9_000}

# How often each type is a service's primary type (rare types are also placed by hand).
TYPE_WEIGHTS = {
    "ost": 15,
    "psychosocial": 12,
    "recovery_community": 12,
    "iep": 9,
    "naloxone": 7,
    "alcohol": 9,
    "housing": 6,
    "mental_health": 5,
    "bbv": 4,
    "family": 4,
    "young_people": 4,
    "womens": 3,
    "detox": 3,
    "residential_rehab": 2,
    "veterans": 2,
}
# Types placed deliberately, so every type of the taxonomy exists: (council, type).
PLACED_TYPES = [
    ("S12000049", "safer_consumption"),
    ("S12000049", "hat"),
    ("S12000049", "drug_checking"),
    ("S12000036", "drug_checking"),
    ("S12000033", "drug_checking"),
    ("S12000042", "residential_rehab"),
    ("S12000017", "residential_rehab"),
    ("S12000036", "veterans"),
]
# Types a service of this primary type often also offers.
COMPANION_TYPES = {
    "ost": ["naloxone", "bbv", "psychosocial", "iep"],
    "iep": ["naloxone", "bbv"],
    "psychosocial": ["alcohol", "recovery_community"],
    "recovery_community": ["family", "psychosocial"],
    "detox": ["alcohol", "ost"],
    "residential_rehab": ["detox", "psychosocial"],
    "hat": ["ost", "naloxone", "bbv"],
    "safer_consumption": ["iep", "naloxone", "bbv"],
    "drug_checking": ["naloxone"],
    "alcohol": ["psychosocial", "recovery_community"],
    "womens": ["psychosocial", "housing"],
    "young_people": ["family", "psychosocial"],
    "housing": ["recovery_community"],
    "mental_health": ["psychosocial"],
    "bbv": ["iep"],
    "family": ["recovery_community"],
    "veterans": ["mental_health", "psychosocial"],
    "naloxone": ["iep"],
}
SERVICE_NOUNS = {
    "ost": "Medication-Assisted Treatment Service",
    "psychosocial": "Counselling and Recovery Service",
    "detox": "Detox Unit",
    "residential_rehab": "Residential Recovery House",
    "iep": "Needle Exchange",
    "naloxone": "Naloxone Drop-in",
    "drug_checking": "Drug Checking Service",
    "safer_consumption": "Safer Drug Consumption Facility",
    "recovery_community": "Recovery Cafe",
    "hat": "Enhanced Drug Treatment Service",
    "alcohol": "Alcohol Support Service",
    "mental_health": "Mental Health and Substance Use Team",
    "housing": "Housing First Project",
    "bbv": "Blood-Borne Virus Clinic",
    "womens": "Women's Recovery Service",
    "family": "Family Support Group",
    "young_people": "Young People's Substance Service",
    "veterans": "Veterans' Recovery Service",
}
NAME_FIRST = [
    "Bramblegate",
    "Thistledown",
    "Heatherbell",
    "Lanternlight",
    "Harbourside",
    "Northlight",
    "Kestrel",
    "Rowanbank",
    "Bluebell",
    "Causeway",
    "Firthview",
    "Glenmorrow",
    "Larchfield",
    "Machair",
    "Puffin",
    "Saltmarsh",
    "Skylark",
    "Stonebridge",
    "Tidewater",
    "Wildflower",
    "Driftwood",
    "Clearwater",
    "Whinmoor",
    "Corriefold",
    "Birchwood",
    "Linnet",
    "Otterburn",
    "Fernhill",
    "Cairnlea",
    "Gowanbrae",
    "Kelpie",
    "Marramgrass",
    "Seapink",
    "Slateford",
    "Tarnside",
    "Wrenfield",
    "Burnside",
    "Cloudberry",
    "Duneside",
    "Eilean",
    "Goldcrest",
    "Hawthorn",
    "Juniper",
    "Lochan",
    "Mossgiel",
    "Pinewood",
    "Quarrybrae",
    "Riverstone",
    "Sandpiper",
    "Tweedbank",
    "Willowmere",
    "Yarrow",
    "Ashgrove",
    "Beacon",
    "Copperbeech",
    "Dovecot",
    "Elderbrook",
    "Foxglove",
    "Glenshiel",
    "Hollybush",
    "Ivybank",
]
NAME_SECOND = [
    "Recovery Trust",
    "Harm Reduction Project",
    "Community Recovery",
    "Drug Services",
    "Health Collective",
    "Support Network",
    "Recovery Hub",
    "Outreach",
    "Addiction Services",
    "Wellbeing Partnership",
]
STREETS = [
    "High Street",
    "Station Road",
    "Church Street",
    "Main Street",
    "Victoria Road",
    "King Street",
    "Queen Street",
    "Bridge Street",
    "Market Street",
    "Castle Street",
    "Union Street",
    "Mill Road",
    "Park Road",
    "School Lane",
    "George Street",
    "North Road",
]
# Weekly patterns: (weekdays, opens, closes); closes before opens runs past midnight.
HOURS_PATTERNS = {
    "office": [(range(5), "09:00", "17:00")],
    "extended": [(range(4), "09:00", "19:00"), ([4], "09:00", "16:30")],
    "drop_in": [([0, 2, 4], "10:00", "14:00")],
    "weekend": [(range(5), "09:00", "17:00"), ([5], "10:00", "13:00")],
    "evening": [(range(6), "17:00", "23:00")],
    "night_outreach": [([4, 5], "20:00", "02:00"), (range(4), "13:00", "17:00")],
    "always": [(range(7), "00:00", "23:59")],
    "split": [(range(5), "08:30", "12:30"), (range(5), "13:30", "16:30")],
}
HOURS_BY_TYPE = {
    "residential_rehab": ["always"],
    "detox": ["always", "extended"],
    "safer_consumption": ["evening", "extended"],
    "iep": ["drop_in", "extended", "night_outreach", "weekend"],
    "naloxone": ["drop_in", "weekend", "night_outreach"],
    "recovery_community": ["weekend", "drop_in", "evening"],
    "ost": ["office", "extended", "split", "weekend"],
}
ALERTS = [
    "Closed on public holidays: phone the out-of-hours line instead.",
    "Phone line down this week: email and we will call back the same day.",
    "Moving to a new building next month; the address will change.",
    "Drop-in sessions are busy: arrive early or phone ahead.",
]
CLOSED_ALERTS = [
    "Temporarily closed for refurbishment: referrals go to the nearest sister service.",
    "Temporarily closed while staff are recruited; reopening expected next quarter.",
]


@dataclass
class DirectorySummary:
    organisations: int
    services: int
    locations: int


def _unique_name(name: str, address: str, number: int, used: set[str]) -> str:
    """``name`` if no other service has it, else told apart by its street, as local
    services often are ("Glasgow Needle Exchange, Station Road"). Draws no random
    numbers, so the rest of the directory is the same whatever the names."""
    street = address.split(" ", 1)[1]
    for candidate in (name, f"{name}, {street}", f"{name}, {address}", f"{name} {number}"):
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise AssertionError("service numbers are unique")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _area_class(code: str) -> str:
    if code in ISLAND_CODES:
        return "island"
    if code in CITY_CODES:
        return "city"
    if code in RURAL_CODES:
        return "rural"
    return "urban"


def _fictional_phone(rng: random.Random, council_code: str) -> str:
    number = rng.randrange(0, 1000)
    if council_code == "S12000049":
        return f"0141 496 {number:04d}"
    if council_code == "S12000036":
        return f"0131 496 {number:04d}"
    return f"01632 960{number:03d}"


def _fictional_postcode(rng: random.Random, district: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"{district} {rng.randrange(1, 10)}{rng.choice(letters)}{rng.choice(letters)}"


def _nearest_district(districts: list[PostcodeDistrict], lat: float, lon: float) -> str:
    def dist2(d: PostcodeDistrict) -> float:
        return (d.latitude - lat) ** 2 + ((d.longitude - lon) * math.cos(math.radians(lat))) ** 2

    return min(districts, key=dist2).district


def _hours(pattern: str) -> list[OpeningHours]:
    rows = []
    for days, opens, closes in HOURS_PATTERNS[pattern]:
        for day in days:
            rows.append(
                OpeningHours(
                    weekday=day,
                    opens=dt.time.fromisoformat(opens),
                    closes=dt.time.fromisoformat(closes),
                )
            )
    return rows


def service_counts(councils: list[CouncilArea], rng: random.Random) -> dict[str, int]:
    """How many services each council area gets: uneven on purpose."""
    counts = {}
    for council in councils:
        per = PEOPLE_PER_SERVICE[_area_class(council.code)]
        factor = rng.uniform(0.6, 1.4)
        counts[council.code] = max(2, round((council.population or per) / per * factor))
    return counts


def _organisations(
    session: Session, councils: list[CouncilArea], rng: random.Random
) -> tuple[list[Organisation], dict[int, list[Organisation]], dict[str, list[Organisation]]]:
    """Four national organisations, one per health board, one or two per council."""
    names = [f"{a} {b}" for a in NAME_FIRST for b in NAME_SECOND]
    rng.shuffle(names)
    used: set[str] = set()

    def new_org(tag: str, scope: str) -> Organisation:
        while True:
            name = names.pop()
            first = name.split()[0]
            if first not in used:
                used.add(first)
                break
        slug = _slug(name)
        org = Organisation(
            uuid=uuid5(DEMO_UUIDS, f"demo-org-{tag}"),
            external_id=f"demo-org-{tag}",
            name=name,
            description=f"A fictional {scope} charity, part of the demo data.",
            phone=f"01632 960{rng.randrange(0, 1000):03d}",
            email=f"hello@{slug}.example",
            website=f"https://{slug}.example",
        )
        session.add(org)
        return org

    national = [new_org(f"national-{i + 1}", "national") for i in range(4)]
    regional: dict[int, list[Organisation]] = {}
    for board_id in sorted({c.health_board_id for c in councils}):
        regional[board_id] = [new_org(f"board-{board_id}", "regional")]
    local: dict[str, list[Organisation]] = {}
    for council in councils:
        count = 2 if _area_class(council.code) == "city" else 1
        local[council.code] = [
            new_org(f"{council.code.lower()}-{i + 1}", "local") for i in range(count)
        ]
    session.flush()
    return national, regional, local


def build_demo_directory(session: Session, today: dt.date) -> DirectorySummary:
    """Create the demo organisations and services. The caller commits."""
    rng = random.Random(DIRECTORY_SEED)
    councils = list(session.scalars(sa.select(CouncilArea).order_by(CouncilArea.code)))
    if not councils:
        raise ValueError("Load the reference data first (flask --app referrals seed-reference).")
    types = {t.code: t for t in session.scalars(sa.select(ServiceType))}
    places_by_council: dict[int, list[Place]] = defaultdict(list)
    for place in session.scalars(sa.select(Place).order_by(Place.id)):
        places_by_council[place.council_area_id].append(place)
    districts_by_council: dict[int, list[PostcodeDistrict]] = defaultdict(list)
    for district in session.scalars(
        sa.select(PostcodeDistrict).order_by(PostcodeDistrict.district)
    ):
        districts_by_council[district.council_area_id].append(district)
    by_board: dict[int, list[CouncilArea]] = defaultdict(list)
    for council in councils:
        by_board[council.health_board_id].append(council)

    national, regional, local = _organisations(session, councils, rng)
    counts = service_counts(councils, rng)
    plan: list[tuple[CouncilArea, str]] = []
    type_codes, weights = zip(*TYPE_WEIGHTS.items(), strict=True)
    for council in councils:
        for _ in range(counts[council.code]):
            plan.append((council, rng.choices(type_codes, weights)[0]))
    council_by_code = {c.code: c for c in councils}
    plan += [(council_by_code[code], type_code) for code, type_code in PLACED_TYPES]

    names_used: set[str] = set()
    n_locations = 0
    for number, (council, type_code) in enumerate(plan, start=1):
        places = places_by_council[council.id]
        place_weights = [max(p.population or 500, 500) ** 0.7 for p in places]
        place = rng.choices(places, place_weights)[0]
        roll = rng.random()
        if roll < 0.5:
            org = rng.choice(local[council.code])
        elif roll < 0.8:
            org = regional[council.health_board_id][0]
        else:
            org = rng.choice(national)
        name = f"{place.name} {SERVICE_NOUNS[type_code]}"

        extra = [
            code
            for code in COMPANION_TYPES.get(type_code, [])
            if rng.random() < 0.45 and code in types
        ]
        status = ServiceStatus.ACTIVE
        alert = None
        roll = rng.random()
        if roll < 0.05:
            status, alert = ServiceStatus.TEMPORARILY_CLOSED, rng.choice(CLOSED_ALERTS)
        elif roll < 0.08:
            status = ServiceStatus.INACTIVE
        elif roll < 0.18:
            alert = rng.choice(ALERTS)
        harm_reduction = type_code in {"iep", "naloxone", "drug_checking", "safer_consumption"}
        same_day = rng.random() < (0.9 if harm_reduction else 0.45 if type_code == "ost" else 0.2)
        min_age, max_age = 18, None
        if type_code == "young_people":
            min_age, max_age = 12, 25
        elif harm_reduction:
            min_age = 16
        verified_days_ago = rng.choice([rng.randrange(0, 180)] * 7 + [rng.randrange(180, 480)] * 3)
        service = Service(
            uuid=uuid5(DEMO_UUIDS, f"demo-svc-{number:04d}"),
            external_id=f"demo-svc-{number:04d}",
            organisation=org,
            name=name,
            description=(
                f"{SERVICE_NOUNS[type_code]} run by {org.name} in {place.name}. "
                "Fictional: part of the demo data."
            ),
            primary_type=types[type_code],
            types=[types[type_code]] + [types[c] for c in dict.fromkeys(extra)],
            min_age=min_age,
            max_age=max_age,
            gender=Gender.FEMALE if type_code == "womens" else Gender.ANY,
            veterans_only=type_code == "veterans",
            self_referral=rng.random() < 0.85,
            accepts_custody_referrals=(
                type_code not in {"drug_checking", "safer_consumption"} and rng.random() < 0.9
            ),
            same_day_access=same_day,
            phone=_fictional_phone(rng, council.code),
            email=f"referrals.{number:04d}@{_slug(org.name)}.example",
            website=f"https://{_slug(org.name)}.example/services/{number:04d}",
            referral_method=rng.choice(
                [
                    "Phone or send the referral through Referral Pathways.",
                    "Referral through Referral Pathways; self-referral by phone or drop-in.",
                    "Drop in during opening hours, or refer through Referral Pathways.",
                ]
            ),
            typical_wait_days=0 if same_day else rng.choice([2, 5, 7, 10, 14, 21, 28]),
            status=status,
            alert=alert,
            confidential_address=type_code == "womens" and rng.random() < 0.5,
            last_verified_on=today - dt.timedelta(days=verified_days_ago),
            opening_hours=_hours(rng.choice(HOURS_BY_TYPE.get(type_code, ["office", "split"]))),
        )
        served = [council]
        if rng.random() < 0.3:
            neighbours = [c for c in by_board[council.health_board_id] if c.id != council.id]
            served += rng.sample(neighbours, min(len(neighbours), rng.randrange(1, 3)))
        service.areas_served = served

        location_places = [place]
        if len(places) > 1 and rng.random() < 0.1:
            location_places.append(rng.choice([p for p in places if p.id != place.id]))
        for where in location_places:
            lat = round(where.latitude + rng.uniform(-0.006, 0.006), 5)
            lon = round(where.longitude + rng.uniform(-0.01, 0.01), 5)
            district = _nearest_district(districts_by_council[council.id], lat, lon)
            service.locations.append(
                Location(
                    uuid=uuid5(service.uuid, f"location:{len(service.locations)}"),
                    name=None if where is place else f"{where.name} outreach base",
                    address_1=f"{rng.randrange(1, 180)} {rng.choice(STREETS)}",
                    town=where.name,
                    postcode=_fictional_postcode(rng, district),
                    latitude=lat,
                    longitude=lon,
                    council_area=council,
                )
            )
            n_locations += 1
        service.name = _unique_name(name, service.locations[0].address_1, number, names_used)
        session.add(service)
    session.flush()
    orgs = (
        len(national)
        + sum(len(v) for v in regional.values())
        + sum(len(v) for v in local.values())
    )
    return DirectorySummary(organisations=orgs, services=len(plan), locations=n_locations)


def demo_provider_organisation(session: Session) -> Organisation:
    """The organisation the demo provider account works for: the local organisation
    with the most services in Glasgow that accept custody referrals."""
    counts = session.execute(
        sa.select(Service.organisation_id, sa.func.count())
        .join(Service.locations)
        .join(Location.council_area)
        .where(CouncilArea.code == "S12000049", Service.accepts_custody_referrals)
        .where(Service.status == ServiceStatus.ACTIVE)
        .group_by(Service.organisation_id)
        .order_by(sa.func.count().desc(), Service.organisation_id)
    ).first()
    return session.get(Organisation, counts[0])
