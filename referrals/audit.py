"""The audit log: who did what, when, from where. Rows are only ever added.

``record`` adds the row to the current session, so it commits (or rolls back) together
with the change it describes.
"""

from __future__ import annotations

import json
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent, User


def client_ip() -> str | None:
    """The client's address as the app sees it (behind a trusted proxy, ProxyFix sets it)."""
    return request.remote_addr if has_request_context() else None


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    user: User | None = None,
    actor: str | None = None,
    detail: dict[str, Any] | str | None = None,
) -> AuditEvent:
    """Add an audit row for ``action`` on ``obj`` (or an explicit type and id)."""
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if isinstance(detail, dict):
        detail = json.dumps(detail, sort_keys=True, default=str)
    row = AuditEvent(
        user_id=user.id if user is not None else None,
        actor=actor or (user.email if user is not None else None),
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        ip=client_ip(),
        detail=detail,
    )
    db.session.add(row)
    return row
