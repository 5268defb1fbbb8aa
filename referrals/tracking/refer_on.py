"""Passing a referral on to another service.

The service it went to, or the referrer, can pass it on (for example to a service nearer
home, or one that offers what the person turned out to need); custody staff only before
the service has responded, since passing it on closes it
(``lifecycle.refer_on_problem``). In one transaction: a new referral to the chosen
service is made with the person's details, linked back to the first
(``referred_from_id``), and the first is closed as "referred on". The person agreed to
the new referral, so its consent date is today. The naloxone kit offered or supplied in
custody goes with it: the measures count the referral it went to, not the first, so the
kit is counted once, there. Urgency was the first service's to answer, and stays there.
The new service's inbox and the referrer are told.

The measures count the person's journey once, by the last referral of the chain linked
by ``referred_from_id`` (``reports.measures.counted`` leaves out those closed as referred
on), with its outcome, on its own date: the period it falls in and its waits start when
it was passed on, not at custody (counting from the first's date would need the
measures and their summaries to read it from the first).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import record
from ..choices import ServiceStatus
from ..database import as_id
from ..directory.access import viewer_for
from ..directory.search import Filters, Hit, search_services
from ..models import PostcodeDistrict, Referral, ReferralEvent, Service, User
from ..notifications.outbox import announce_new_referral
from .actions import TransitionError
from .lifecycle import close_as_referred_on
from .referral_rows import free_reference

CHOICES = 12
RADIUS_KM = 50


def candidates(
    session: Session, referral: Referral, user: User, type_code: str | None, now_local
) -> list[Hit]:
    """Active services that take referrals from custody, near where the person lives (or
    their council area), nearest first."""
    district = referral.postcode_district and session.get(
        PostcodeDistrict, referral.postcode_district
    )
    origin = district or referral.council_area
    hits = search_services(
        session,
        origin.latitude,
        origin.longitude,
        Filters(types=[type_code] if type_code else [], custody=True, radius_km=RADIUS_KM),
        now_local=now_local,
        viewer=viewer_for(user),
        per_page=CHOICES + 1,
    ).hits
    return [hit for hit in hits if hit.service.id != referral.service_id][:CHOICES]


def refer_on(
    session: Session,
    referral: Referral,
    user: User,
    *,
    service_id: object,
    consent: bool,
    note: str,
    expected_version: int | None,
    today: dt.date,
    now: dt.datetime,
) -> Referral:
    """Make the new referral and close ``referral``; the caller commits."""
    service = session.scalar(
        sa.select(Service)
        .where(Service.id == (as_id(service_id) or 0))
        .options(selectinload(Service.organisation))
    )
    if service is None or service.status != ServiceStatus.ACTIVE:
        raise TransitionError("Choose an active service from the list.")
    if not service.accepts_custody_referrals:
        raise TransitionError(
            f"{service.name} does not take referrals from custody. Choose another service "
            "from the list."
        )
    if service.id == referral.service_id:
        raise TransitionError("Choose a different service from the one it is with now.")
    if not consent:
        raise TransitionError(
            "The person must agree to the new referral. Ask them, and tick the box once "
            "they agree."
        )
    new = Referral(
        reference=free_reference(session),
        made_at=now,
        referred_on=today,
        custody_suite_id=referral.custody_suite_id,
        # The referring worker keeps following the person's journey.
        referrer_id=referral.referrer_id,
        pathway=referral.pathway,
        service_id=service.id,
        person_ref=referral.person_ref,
        age_band=referral.age_band,
        sex=referral.sex,
        postcode_district=referral.postcode_district,
        council_area_id=referral.council_area_id,
        consent_recorded=True,
        consent_date=today,
        substances=referral.substances,
        needs=referral.needs,
        naloxone_offered=referral.naloxone_offered,
        naloxone_supplied=referral.naloxone_supplied,
        children_in_household=referral.children_in_household,
        same_day_urgent=False,
        contact_name=referral.contact_name,
        contact_phone=referral.contact_phone,
        contact_method=referral.contact_method,
        notes="\n\n".join(
            part
            for part in (f"Passed on from {referral.reference}: {note.strip()}", referral.notes)
            if part
        ),
        referred_from_id=referral.id,
    )
    close_as_referred_on(
        session,
        referral,
        user,
        today=today,
        expected_version=expected_version,
        new_reference=new.reference,
    )
    session.add(new)
    session.add(
        ReferralEvent(
            referral=new,
            user_id=user.id,
            from_status=None,
            to_status="made",
            event_date=today,
            at=now,
            note=f"Passed on from {referral.reference}.",
        )
    )
    session.flush()
    record(
        "referral_referred_on",
        referral,
        user=user,
        detail={"to_referral": new.id, "to_service_id": service.id, "reference": new.reference},
    )
    record(
        "referral_created",
        new,
        user=user,
        detail={"service_id": service.id, "reference": new.reference, "from": referral.id},
    )
    announce_new_referral(session, new, service)
    return new
