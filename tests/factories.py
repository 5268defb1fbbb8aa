"""Small builders for test data: users, organisations, services, referrals."""

from __future__ import annotations

import datetime as dt
import itertools

import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import (
    CouncilArea,
    CustodySuite,
    Location,
    OpeningHours,
    Organisation,
    Service,
    ServiceType,
    User,
)

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def council(session, name: str) -> CouncilArea:
    return session.scalar(sa.select(CouncilArea).where(CouncilArea.name == name))


def suite(session, code: str) -> CustodySuite:
    return session.scalar(sa.select(CustodySuite).where(CustodySuite.code == code))


def service_type(session, code: str) -> ServiceType:
    return session.scalar(sa.select(ServiceType).where(ServiceType.code == code))


def make_user(session, role: Role, *, email=None, password=PASSWORD, **fields) -> User:
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@test.example", name=f"Test {role} {n}", role=role, **fields
    )
    user.set_password(password)
    session.add(user)
    session.flush()
    return user


def make_organisation(session, name=None) -> Organisation:
    org = Organisation(name=name or f"Test Organisation {next(_counter)}")
    session.add(org)
    session.flush()
    return org


def make_service(
    session,
    *,
    organisation: Organisation | None = None,
    name: str | None = None,
    type_code: str = "ost",
    lat: float = 55.8642,
    lon: float = -4.2518,
    council_name: str = "Glasgow City",
    postcode: str = "G1 1AA",
    hours: list[tuple[int, str, str]] | None = None,
    **fields,
) -> Service:
    area = council(session, council_name)
    stype = service_type(session, type_code)
    service = Service(
        organisation=organisation or make_organisation(session),
        name=name or f"Test Service {next(_counter)}",
        primary_type=stype,
        types=[stype],
        last_verified_on=fields.pop("last_verified_on", dt.date.today()),
        **fields,
    )
    service.locations = [
        Location(
            address_1="1 Test Street",
            town="Testtown",
            postcode=postcode,
            latitude=lat,
            longitude=lon,
            council_area=area,
        )
    ]
    service.areas_served = [area]
    for day, opens, closes in (
        hours if hours is not None else [(d, "09:00", "17:00") for d in range(5)]
    ):
        service.opening_hours.append(
            OpeningHours(
                weekday=day,
                opens=dt.time.fromisoformat(opens),
                closes=dt.time.fromisoformat(closes),
            )
        )
    session.add(service)
    session.flush()
    return service
