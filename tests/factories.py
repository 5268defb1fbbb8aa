"""Small builders for test data: users, organisations, services, referrals."""

from __future__ import annotations

import datetime as dt
import itertools

import pyotp
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from referrals.auth.mfa import REQUIRED_ROLES
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


def make_user(
    session, role: Role, *, email=None, password=PASSWORD, mfa: bool | None = None, **fields
) -> User:
    """An account; enrolled with a sign-in app (as if they had scanned the QR code) when
    its role needs one, or when ``mfa`` says so."""
    n = next(_counter)
    user = User(
        email=email or f"{role}{n}@test.example", name=f"Test {role} {n}", role=role, **fields
    )
    # A cheap hash keeps the tests fast; the app itself uses werkzeug's default (scrypt).
    user.password_hash = generate_password_hash(password, method="pbkdf2:sha256:1000")
    if mfa if mfa is not None else role in REQUIRED_ROLES:
        user.totp_secret = pyotp.random_base32()
        user.totp_enrolled_at = dt.datetime.now(dt.UTC)
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


def make_referral(
    session,
    *,
    service: Service,
    referrer: User,
    referred_on: dt.date | None = None,
    council_name: str = "Glasgow City",
    flush: bool = True,
    **fields,
):
    """A referral as the form would make it, with its first event (``flush=False`` leaves
    writing it to the next flush, for building many quickly)."""
    from referrals.models import Referral, ReferralEvent
    from referrals.references import new_reference

    referred_on = referred_on or dt.date.today()
    made_at = dt.datetime.combine(referred_on, dt.time(10, 0), dt.UTC)
    values = {
        "pathway": "arrest_referral",
        "person_ref": f"CR/{next(_counter):05d}",
        "age_band": "25_34",
        "sex": "male",
        "postcode_district": "G31",
        "consent_recorded": True,
        "consent_date": referred_on,
        "contact_method": "phone",
        "contact_name": "Alex Example",
        "contact_phone": "07700 900123",
        "notes": "Prefers mornings.",
    }
    values.update(fields)
    referral = Referral(
        reference=new_reference(),
        made_at=made_at,
        referred_on=referred_on,
        custody_suite_id=referrer.custody_suite_id,
        referrer_id=referrer.id,
        service_id=service.id,
        council_area_id=council(session, council_name).id,
        **values,
    )
    session.add(referral)
    session.add(
        ReferralEvent(
            referral=referral,
            user_id=referrer.id,
            to_status="made",
            event_date=referred_on,
            at=made_at,
        )
    )
    if flush:
        session.flush()
    return referral


def make_api_client(
    session, role: Role, *, suites=(), organisation=None, name=None
) -> tuple[object, str]:
    """A registered system and its token, as an administrator would register it."""
    from referrals.api.clients import register

    issued = register(
        session,
        name=name or f"Test system {next(_counter)}",
        role=role,
        suite_ids=[s.id for s in suites],
        organisation_id=organisation.id if organisation else None,
    )
    session.flush()
    return issued.client, issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_contact(
    session,
    *,
    recorder: User,
    contact_on: dt.date,
    outcome: str = "declined",
    naloxone: str = "not_offered",
    council_name: str = "Glasgow City",
    **fields,
):
    """A custody contact as the form would record it (offered when the outcome needs it)."""
    from referrals.contacts.models import CustodyContact

    values = {
        "age_band": "25_34",
        "sex": "male",
        "postcode_district": "G31",
        "offered": outcome in ("referral_made", "declined"),
        "decline_reason": "no_reason" if outcome == "declined" else None,
        "not_suitable_reason": "other" if outcome == "not_suitable" else None,
    }
    values.update(fields)
    contact = CustodyContact(
        custody_suite_id=recorder.custody_suite_id,
        contact_on=contact_on,
        recorded_by_id=recorder.id,
        council_area_id=council(session, council_name).id,
        outcome=outcome,
        naloxone=naloxone,
        **values,
    )
    session.add(contact)
    session.flush()
    return contact


def make_people(session) -> dict:
    """A service of one organisation, a custody officer at Glasgow's suite, a provider of
    that organisation and an administrator (emails c@, p@ and a@t.example)."""
    org = make_organisation(session, "Org X")
    data = {
        "service": make_service(session, organisation=org, name="Glasgow MAT"),
        "custody": make_user(
            session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
        ),
        "provider": make_user(session, Role.PROVIDER, email="p@t.example", organisation=org),
        "admin": make_user(session, Role.ADMIN, email="a@t.example"),
    }
    session.commit()
    return data
