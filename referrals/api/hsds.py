"""The directory as Open Referral HSDS 3.0 objects, within the Open Referral UK profile.

Identifiers are the UUIDs stored beside each record's internal id (a location row's
names the service at that location). Parts HSDS gives an id of their own but the product
keeps as columns (a service's phone, contact, schedules, areas served, type links; a
location's place and address) get a UUID derived from their parent's (UUID version 5),
so the same part always has the same id. Fields the product does not
hold are left out rather than sent empty or null (HSDS types them as strings).

Confidential addresses (a women's refuge) never appear: such a service is listed with
its areas served but no locations. Nor do an inactive service's locations: it is given
(to say that it closed) with none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID, uuid5

from flask import url_for

from ..choices import Gender, ServiceStatus
from ..directory.listings import website_problem
from ..models import Location, OpeningHours, Organisation, Service, ServiceType

HSDS_VERSION = "HSDS-UK-3.0"
PROFILE_URL = "https://openreferraluk.org/specifications/3.0/openapi.json"
TAXONOMY_ID = UUID("e9f2f009-3f56-4563-9b20-4caafa379c3c")
TAXONOMY_NAME = "Referral Pathways service types"
STATISTICAL_GEOGRAPHY = "http://statistics.data.gov.uk/id/statistical-geography/"
DAY_CODES = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
STATUS = {
    ServiceStatus.ACTIVE: "active",
    ServiceStatus.TEMPORARILY_CLOSED: "temporarily closed",
    ServiceStatus.INACTIVE: "inactive",
}


def _present(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the fields that have no value."""
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _uri(website: str | None) -> str | None:
    """A stored website as the API may give it (a URI), or none: addresses saved before
    the directory checked them (a space, "www.example.org") would break the systems
    reading the API."""
    return website if website and website_problem(website) is None else None


def part_id(parent: UUID, part: str) -> str:
    """A stable id for a part of a record that has no row of its own."""
    return str(uuid5(parent, part))


def timestamp(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if value else None


# -- taxonomy ---------------------------------------------------------------------------


def taxonomy() -> dict:
    return {
        "id": str(TAXONOMY_ID),
        "name": TAXONOMY_NAME,
        "description": (
            "The kinds of drug and alcohol treatment and harm-reduction service in this "
            "directory, from opioid substitution to naloxone supply."
        ),
        "version": "1",
    }


def taxonomy_term(service_type: ServiceType) -> dict:
    return {
        "id": str(service_type.uuid),
        "code": service_type.code,
        "name": service_type.name,
        "description": service_type.name,
        "taxonomy": TAXONOMY_NAME,
        "taxonomy_id": str(TAXONOMY_ID),
    }


# -- organisations ----------------------------------------------------------------------


def organization(org: Organisation) -> dict:
    """An organisation's own fields (HSDS requires a description; it may be empty)."""
    return _present(
        {
            "id": str(org.uuid),
            "name": org.name,
            "email": org.email,
            "website": _uri(org.website),
        }
    ) | {"description": org.description or ""}


def organization_full(org: Organisation, services: list[dict]) -> dict:
    phones = []
    if org.phone:
        phones.append(
            {
                "id": part_id(org.uuid, "phone"),
                "organization_id": str(org.uuid),
                "number": org.phone,
            }
        )
    return organization(org) | {"phones": phones, "services": services}


# -- services ---------------------------------------------------------------------------


def _eligibility(service: Service) -> str | None:
    parts = []
    if service.min_age is not None or service.max_age is not None:
        low = service.min_age if service.min_age is not None else 0
        parts.append(
            f"Ages {low} and over"
            if service.max_age is None
            else f"Ages {low} to {service.max_age}"
        )
    if service.gender != Gender.ANY:
        parts.append(service.gender.label)
    if service.veterans_only:
        parts.append("Veterans only")
    return "; ".join(parts) or None


def service_summary(service: Service) -> dict:
    """The service's one-to-one fields and its organisation (HSDS ``service_list``)."""
    return _present(
        {
            "id": str(service.uuid),
            "organization_id": str(service.organisation.uuid),
            "name": service.name,
            "description": service.description,
            "url": _uri(service.website),
            "email": service.email,
            "status": STATUS[service.status],
            "application_process": service.referral_method,
            "eligibility_description": _eligibility(service),
            "minimum_age": service.min_age,
            "maximum_age": service.max_age,
            "assured_date": service.last_verified_on.isoformat()
            if service.last_verified_on
            else None,
            "alert": service.alert,
            "last_modified": timestamp(service.updated_at),
            "typical_wait_days": service.typical_wait_days,
        }
    ) | {
        "organization": organization(service.organisation),
        "same_day_access": service.same_day_access,
        "accepts_custody_referrals": service.accepts_custody_referrals,
        "self_referral": service.self_referral,
        "links": {
            "html": url_for("directory.service_detail", service_id=service.id, _external=True)
        },
    }


def service_minimal(service: Service) -> dict:
    return {
        "id": str(service.uuid),
        "name": service.name,
        "status": STATUS[service.status],
        "last_modified": timestamp(service.updated_at),
    }


def _phones(service: Service) -> list[dict]:
    if not service.phone:
        return []
    return [
        {
            "id": part_id(service.uuid, "phone"),
            "service_id": str(service.uuid),
            "number": service.phone,
        }
    ]


def _contacts(service: Service) -> list[dict]:
    if not (service.phone or service.email):
        return []
    contact_id = part_id(service.uuid, "contact")
    phones = []
    if service.phone:
        phones.append(
            {
                "id": part_id(service.uuid, "contact-phone"),
                "contact_id": contact_id,
                "number": service.phone,
            }
        )
    return [
        _present(
            {
                "id": contact_id,
                "service_id": str(service.uuid),
                "name": "Referrals and enquiries",
                "email": service.email,
            }
        )
        | {"phones": phones}
    ]


def _schedule(service: Service, hours: OpeningHours) -> dict:
    opens, closes = hours.opens.strftime("%H:%M"), hours.closes.strftime("%H:%M")
    overnight = " the next day" if hours.closes < hours.opens else ""
    return {
        "id": part_id(service.uuid, f"schedule:{hours.weekday}:{opens}:{closes}"),
        "service_id": str(service.uuid),
        "freq": "WEEKLY",
        "byday": DAY_CODES[hours.weekday],
        "opens_at": f"{opens}:00",
        "closes_at": f"{closes}:00",
        "description": f"{DAY_NAMES[hours.weekday]} {opens} to {closes}{overnight}",
    }


def _service_areas(service: Service) -> list[dict]:
    return [
        {
            "id": part_id(service.uuid, f"area:{area.code}"),
            "service_id": str(service.uuid),
            "name": area.name,
            "uri": STATISTICAL_GEOGRAPHY + area.code,
            "gss_code": area.code,
        }
        for area in service.areas_served
    ]


def _attributes(service: Service) -> list[dict]:
    return [
        {
            "id": part_id(service.uuid, f"attribute:{t.uuid}"),
            "link_id": str(service.uuid),
            "link_type": "service",
            "link_entity": "service",
            "taxonomy_term_id": str(t.uuid),
            "taxonomy_term": taxonomy_term(t),
        }
        for t in service.types
    ]


def public_locations(service: Service) -> list[Location]:
    """The locations anyone may see: none for a confidential address or an inactive
    service (as ``directory_queries.public_location_ids`` lists them)."""
    if service.confidential_address or service.status == ServiceStatus.INACTIVE:
        return []
    return list(service.locations)


def location(loc: Location) -> dict:
    location_id = part_id(loc.uuid, "location")
    address = _present(
        {
            "id": part_id(loc.uuid, "address"),
            "location_id": location_id,
            "address_1": loc.address_1,
            "address_2": loc.address_2,
            "city": loc.town,
            "state_province": loc.council_area.name,
            "postal_code": loc.postcode,
            "country": "GB",
            "address_type": "physical",
        }
    )
    return _present(
        {
            "id": location_id,
            "location_type": "physical",
            "name": loc.name or loc.service.name,
            "latitude": round(loc.latitude, 6),
            "longitude": round(loc.longitude, 6),
        }
    ) | {"addresses": [address]}


def service_at_location(loc: Location, *, with_service: dict | None = None) -> dict:
    """A service at one of its locations. Each location row belongs to one service, so
    the row's UUID names the service-at-location; the place itself gets a derived id."""
    item = {
        "id": str(loc.uuid),
        "service_id": str(loc.service.uuid),
        "location_id": part_id(loc.uuid, "location"),
        "location": location(loc),
    }
    if with_service is not None:
        item["service"] = with_service
    return item


def service_full(service: Service, only: Location | None = None) -> dict:
    """The service with everything about it nested (HSDS ``service``); ``only`` keeps one
    of its locations (for ``/service_at_locations/{id}``)."""
    locations = [loc for loc in public_locations(service) if only is None or loc is only]
    return service_summary(service) | {
        "phones": _phones(service),
        "contacts": _contacts(service),
        "schedules": [_schedule(service, h) for h in service.opening_hours],
        "service_areas": _service_areas(service),
        "service_at_locations": [service_at_location(loc) for loc in locations],
        "attributes": _attributes(service),
    }
