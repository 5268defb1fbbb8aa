"""Which services and organisations a services CSV's rows are: services by their
``external_id`` (or the id the export gives a listing made on the website), and
organisations by name whatever its case and spacing; an existing service is never moved
to another organisation by an import."""

from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..models import Organisation, Service
from .import_rows import Listing

EXPORTED_ID = re.compile(r"service-([1-9][0-9]{0,17})")


def exported_id(service_id: int) -> str:
    """The ``external_id`` the export gives a listing that has none (one made on the
    website); importing the file matches it back to that listing."""
    return f"service-{service_id}"


def existing_services(
    session: Session, services: dict[str, Listing], errors: list[tuple[int, str]]
) -> dict[str, Service]:
    """The services the file's rows name, by the ``external_id`` the file gives them."""
    loading = [
        selectinload(Service.organisation),
        selectinload(Service.primary_type),
        selectinload(Service.locations),
        selectinload(Service.opening_hours),
        selectinload(Service.types),
        selectinload(Service.areas_served),
    ]
    found = {
        s.external_id: s
        for s in session.scalars(
            sa.select(Service).where(Service.external_id.in_(list(services))).options(*loading)
        )
    }
    exported = {
        int(match[1]): external_id
        for external_id in services
        if external_id not in found and (match := EXPORTED_ID.fullmatch(external_id))
    }
    if exported:
        for s in session.scalars(
            sa.select(Service)
            .where(Service.id.in_(list(exported)), Service.external_id.is_(None))
            .options(*loading)
        ):
            found[exported[s.id]] = s
    for external_id in exported.values():
        if external_id not in found:
            errors.append(
                (
                    services[external_id].line,
                    f"“{external_id}” is how the export names a listing made on the website, "
                    "and there is no such listing here: to add this service, give the row "
                    "an external_id of its own",
                )
            )
    return found


def _same_name(name: str) -> str:
    return " ".join(name.split()).casefold()


class Organisations:
    """The directory's organisations by name, whatever its case and spacing, with the
    ones the import adds."""

    def __init__(self, session: Session):
        self.session = session
        self.named: dict[str, list[Organisation]] = defaultdict(list)
        for organisation in session.scalars(sa.select(Organisation).order_by(Organisation.id)):
            self.named[_same_name(organisation.name)].append(organisation)

    def problem(self, listing: Listing, service: Service | None) -> str | None:
        """Why the row cannot have the organisation it names; ``None`` if it can."""
        wanted = listing.organisation
        if service is not None:
            current = service.organisation.name
            if _same_name(current) == _same_name(wanted):
                return None
            return (
                f"{service.name} belongs to {current}, not “{wanted}”: an import does not "
                "move a service to another organisation, as its past referrals, with "
                f"people's details, would go with it. Write {current} in the organisation "
                "column, or ask the administrators to move the service"
            )
        found = self.named[_same_name(wanted)]
        if len(found) > 1 and all(o.name != wanted for o in found):
            names = ", ".join(o.name for o in found)
            return (
                f"there are several organisations called “{wanted}” ({names}): write the "
                "name exactly as the one that runs the service is written"
            )
        return None

    def of(self, listing: Listing, service: Service | None) -> Organisation:
        """The organisation the listing goes to, added if the directory has none of that
        name (call ``problem`` first)."""
        if service is not None:
            return service.organisation
        found = self.named[_same_name(listing.organisation)]
        exact = [o for o in found if o.name == listing.organisation]
        if exact or found:
            return (exact or found)[0]
        organisation = Organisation(name=listing.organisation)
        self.session.add(organisation)
        found.append(organisation)
        return organisation
