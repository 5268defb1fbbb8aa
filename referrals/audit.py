"""The audit log: who did what, when, from where. Rows are only ever added.

``record`` adds the row to the current session, so it commits (or rolls back) together
with the change it describes.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from flask_login import current_user

from .extensions import db
from .models import AuditEvent, User, utcnow


def client_ip() -> str | None:
    """The client's address as the app sees it (behind a trusted proxy, ProxyFix sets it)."""
    return request.remote_addr if has_request_context() else None


def _row(
    action: str,
    obj: Any,
    object_type: str | None,
    object_id: Any,
    user: User | None,
    actor: str | None,
    detail: dict[str, Any] | str | None,
) -> dict[str, Any]:
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user._get_current_object()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if isinstance(detail, dict):
        detail = json.dumps(detail, sort_keys=True, default=str)
    return {
        "user_id": user.id if user is not None else None,
        "actor": actor or (user.email if user is not None else None),
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id is not None else None,
        "ip": client_ip(),
        "detail": detail,
    }


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
    row = AuditEvent(**_row(action, obj, object_type, object_id, user, actor, detail))
    db.session.add(row)
    return row


def record_now(
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    detail: dict[str, Any] | str | None = None,
) -> None:
    """Write an audit row for ``action`` at once, with the insert built once per
    process and no ORM object: for a page that only reads (the worklist writes one
    on every view), where adding an object to the session and flushing it costs more
    than the read. The row is the same as ``record`` writes; it commits with the
    session's transaction."""
    row = _row(action, None, object_type, object_id, None, None, detail)
    db.session.connection().execute(_insert(), {"at": utcnow(), **row})


def record_together(*entries: dict[str, Any]) -> None:
    """Write several audit rows at once, in one statement: each entry holds the keyword
    arguments ``record`` takes (``action`` and ``obj`` included). For a save that would
    otherwise send one statement per row; the rows are the same."""
    rows = [
        _row(
            entry["action"],
            entry.get("obj"),
            entry.get("object_type"),
            entry.get("object_id"),
            entry.get("user"),
            entry.get("actor"),
            entry.get("detail"),
        )
        for entry in entries
    ]
    now = utcnow()
    session = db.session
    # As an insert through the session would, the changes the rows describe are
    # written first (a stale version fails here, before the audit rows); the rows
    # themselves go straight to the connection, with none of the ORM's work on them.
    if session.autoflush:
        session.flush()
    session.connection().execute(_insert(), [{"at": now, **row} for row in rows])


@functools.cache
def _insert() -> sa.Insert:
    """The audit rows' insert, built once per process: nearly every request runs it."""
    return sa.insert(AuditEvent)
