"""``/api/v1``: the directory as JSON shaped like Open Referral HSDS 3.0. Public and
paginated; confidential addresses are never included, whoever asks."""

from __future__ import annotations

import math
import re

import sqlalchemy as sa
from flask import Blueprint, jsonify, request, url_for
from sqlalchemy.orm import selectinload

from .choices import ServiceStatus
from .extensions import csrf, db
from .models import Service, ServiceType, service_type_links

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

HSDS_DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DEFAULT_PER_PAGE = 50
TYPE_CODE = re.compile(r"[a-z0-9_]{1,40}")
MAX_PER_PAGE = 200
STATISTICAL_GEOGRAPHY = "http://statistics.data.gov.uk/id/statistical-geography/"


def _problem(status: int, detail: str):
    response = jsonify({"status": status, "detail": detail})
    response.status_code = status
    return response


def _int_arg(name: str, default: int, low: int, high: int) -> int | str:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return f"{name} must be a whole number"
    if not low <= value <= high:
        return f"{name} must be from {low} to {high}"
    return value


def service_json(service: Service) -> dict:
    organisation = service.organisation
    locations = []
    for loc in service.locations:
        location = {
            "id": f"location-{loc.id}",
            "location_type": "physical",
            "name": loc.name or service.name,
        }
        if service.confidential_address:
            location["description"] = "Confidential address: given to referrers on request."
            location["addresses"] = [
                {"address_type": "physical", "city": loc.town, "country": "GB"}
            ]
        else:
            location.update(
                latitude=round(loc.latitude, 6),
                longitude=round(loc.longitude, 6),
                addresses=[
                    {
                        "address_type": "physical",
                        "address_1": loc.address_1,
                        "address_2": loc.address_2,
                        "city": loc.town,
                        "postal_code": loc.postcode,
                        "country": "GB",
                    }
                ],
            )
        locations.append({"id": f"sal-{loc.id}", "location": location})
    eligibility = []
    if service.min_age is not None or service.max_age is not None:
        low = service.min_age if service.min_age is not None else 0
        eligibility.append(
            f"Ages {low} and over"
            if service.max_age is None
            else f"Ages {low} to {service.max_age}"
        )
    if service.gender.value != "any":
        eligibility.append(service.gender.label)
    if service.veterans_only:
        eligibility.append("Veterans only")
    return {
        "id": str(service.id),
        "name": service.name,
        "description": service.description,
        "url": service.website,
        "email": service.email,
        "status": service.status.value,
        "alert": service.alert,
        "minimum_age": service.min_age,
        "maximum_age": service.max_age,
        "eligibility_description": "; ".join(eligibility) or None,
        "application_process": service.referral_method,
        "wait_time": (
            f"{service.typical_wait_days} days" if service.typical_wait_days is not None else None
        ),
        "assured_date": service.last_verified_on.isoformat() if service.last_verified_on else None,
        "organization": {
            "id": str(organisation.id),
            "name": organisation.name,
            "website": organisation.website,
            "email": organisation.email,
        },
        "phones": [{"number": service.phone}] if service.phone else [],
        "service_at_locations": locations,
        "schedules": [
            {
                "freq": "WEEKLY",
                "byday": HSDS_DAYS[h.weekday],
                "opens_at": h.opens.strftime("%H:%M"),
                "closes_at": h.closes.strftime("%H:%M"),
            }
            for h in service.opening_hours
        ],
        "service_areas": [
            {
                "name": area.name,
                "extent_type": "other",
                "uri": STATISTICAL_GEOGRAPHY + area.code,
                "gss_code": area.code,
            }
            for area in service.areas_served
        ],
        "attributes": [
            {
                "taxonomy_term": {
                    "id": t.code,
                    "code": t.code,
                    "name": t.name,
                    "taxonomy": "referral-pathways-service-types",
                }
            }
            for t in service.types
        ],
        "same_day_access": service.same_day_access,
        "accepts_custody_referrals": service.accepts_custody_referrals,
        "self_referral": service.self_referral,
        "links": {"html": url_for("directory.service_detail", service_id=service.id)},
    }


def _loaded() -> sa.Select:
    return sa.select(Service).options(
        selectinload(Service.organisation),
        selectinload(Service.locations),
        selectinload(Service.opening_hours),
        selectinload(Service.areas_served),
        selectinload(Service.types),
    )


@bp.get("/services")
def services():
    page = _int_arg("page", 1, 1, 10**6)
    per_page = _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
    for value in (page, per_page):
        if isinstance(value, str):
            return _problem(400, value)
    query = sa.select(Service.id).where(Service.status != ServiceStatus.INACTIVE)
    asked = [t for t in request.args.getlist("type") if t]
    if asked:
        # Anything that cannot be a code (a NUL byte, which PostgreSQL refuses in a query,
        # or 5,000 characters) matches no service type, as an unknown code does.
        type_codes = [t for t in asked if TYPE_CODE.fullmatch(t)]
        query = query.where(
            Service.id.in_(
                sa.select(service_type_links.c.service_id)
                .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
                .where(ServiceType.code.in_(type_codes))
            )
        )
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, math.ceil(total / per_page))
    ids = list(
        db.session.scalars(
            query.order_by(Service.id).offset((page - 1) * per_page).limit(per_page)
        )
    )
    by_id = {s.id: s for s in db.session.scalars(_loaded().where(Service.id.in_(ids)))}
    return jsonify(
        {
            "total_items": total,
            "total_pages": pages,
            "page_number": page,
            "size": len(ids),
            "first_page": page == 1,
            "last_page": page >= pages,
            "empty": not ids,
            "contents": [service_json(by_id[i]) for i in ids],
        }
    )


@bp.get("/services/<int:service_id>")
def service(service_id: int):
    found = db.session.scalar(_loaded().where(Service.id == service_id))
    if found is None:
        return _problem(404, "No service with that id.")
    return jsonify(service_json(found))


@bp.errorhandler(404)
def not_found(_exc):
    return _problem(404, "Not found.")
