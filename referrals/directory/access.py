"""Who may see and change what in the directory (DESIGN.md section 2)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import Service

# Confidential addresses (a women's refuge) are shown to custody staff and administrators,
# and to the staff of the organisation that runs the service; to nobody else.
CONFIDENTIAL_ROLES = frozenset({Role.CUSTODY, Role.ADMIN})


@dataclass(frozen=True)
class AddressViewer:
    """Whose confidential addresses a viewer may see: all, or one organisation's."""

    everything: bool = False
    organisation_id: int | None = None

    def reveals(self, confidential: bool, organisation_id: int | None) -> bool:
        if not confidential or self.everything:
            return True
        return self.organisation_id is not None and organisation_id == self.organisation_id

    def reveals_service(self, service: Service) -> bool:
        return self.reveals(service.confidential_address, service.organisation_id)

    def shown(self) -> sa.ColumnElement[bool]:
        """SQL, on ``Service``: this viewer may see the service's address."""
        if self.everything:
            return sa.true()
        shown = ~Service.confidential_address
        if self.organisation_id is not None:
            shown = sa.or_(shown, Service.organisation_id == self.organisation_id)
        return shown


PUBLIC = AddressViewer()
EVERYTHING = AddressViewer(everything=True)


def address_viewer() -> AddressViewer:
    """The current user's view of confidential addresses."""
    return viewer_for(current_user if current_user.is_authenticated else None)


def viewer_for(user) -> AddressViewer:
    """``user``'s view of confidential addresses (None: the public's)."""
    if user is None:
        return PUBLIC
    if user.role in CONFIDENTIAL_ROLES:
        return EVERYTHING
    if user.role == Role.PROVIDER:
        return AddressViewer(organisation_id=user.organisation_id)
    return PUBLIC


def editable_services() -> sa.Select:
    """Services the current user may edit: admins all, providers their organisation's."""
    query = sa.select(Service)
    if current_user.is_authenticated and current_user.role == Role.ADMIN:
        return query
    if current_user.is_authenticated and current_user.role == Role.PROVIDER:
        return query.where(Service.organisation_id == current_user.organisation_id)
    return query.where(sa.false())


def can_edit(service: Service) -> bool:
    if not current_user.is_authenticated:
        return False
    if current_user.role == Role.ADMIN:
        return True
    return current_user.role == Role.PROVIDER and service.organisation_id == (
        current_user.organisation_id
    )


def service_to_edit(session: Session, service_id: int) -> Service:
    """The service, if the current user may edit it; otherwise 404, as if absent."""
    service = session.scalar(editable_services().where(Service.id == service_id))
    if service is None:
        abort(404)
    return service
