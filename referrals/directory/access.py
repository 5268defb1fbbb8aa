"""Who may see and change what in the directory (DESIGN.md section 2)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import Service

CONFIDENTIAL_ROLES = frozenset({Role.CUSTODY, Role.PROVIDER, Role.ADMIN})


def can_see_confidential() -> bool:
    """Signed-in custody, provider and admin users see confidential addresses."""
    return current_user.is_authenticated and current_user.role in CONFIDENTIAL_ROLES


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
