"""Sessions held on the server.

Signing in makes a ``UserSession`` row and gives the browser a random token (inside the
signed session cookie); every request checks the row. So a session ends everywhere at
once, whoever holds a copy of the cookie: at sign-out, when the password is changed or
reset, when the account is deactivated or its role changes, after
``SESSION_IDLE_MINUTES`` without a request, and ``SESSION_LIFETIME_HOURS`` after signing
in however busy it is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .models import UserSession

# A request updates ``last_seen_at`` only when it is older than this: not a write on
# every page, and still minute-accurate for the idle timeout.
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(
    session: Session,
    user_id: int,
    now: dt.datetime,
    lifetime: dt.timedelta,
    *,
    ip: str | None = None,
    user_agent: str | None = None,
) -> str:
    """Open a session for ``user_id``; return the token for the browser."""
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user_id,
            token_hash=token_hash(token),
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            ip=ip,
            user_agent=(user_agent or "")[:200] or None,
        )
    )
    return token


def check(
    connection: Connection, user_id: int, token: str | None, now: dt.datetime, idle: dt.timedelta
) -> str | None:
    """``None`` if the session is live (and marks it seen), else why it is not:
    ``missing``, ``ended``, ``idle`` or ``expired``. An idle or expired session is
    ended here, so it never comes back."""
    if not token:
        return "missing"
    table = UserSession.__table__
    row = connection.execute(
        sa.select(table.c.id, table.c.ended_at, table.c.last_seen_at, table.c.expires_at).where(
            table.c.token_hash == token_hash(token), table.c.user_id == user_id
        )
    ).first()
    if row is None:
        return "missing"
    reason, write = verdict(row.ended_at, row.last_seen_at, row.expires_at, now, idle)
    if write:
        mark(connection, row.id, now, reason)
    return reason


def verdict(
    ended_at: dt.datetime | None,
    last_seen_at: dt.datetime,
    expires_at: dt.datetime,
    now: dt.datetime,
    idle: dt.timedelta,
) -> tuple[str | None, bool]:
    """Whether a found session is live (``None``) or why not, and whether the row needs
    writing: ended when it has just gone idle or expired, or marked seen now and then."""
    if ended_at is not None:
        return "ended", False
    last_seen, expires = _aware(last_seen_at), _aware(expires_at)
    reason = "expired" if now >= expires else "idle" if now - last_seen > idle else None
    return reason, reason is not None or now - last_seen > TOUCH_EVERY


def mark(connection: Connection, session_id: int, now: dt.datetime, reason: str | None) -> None:
    """End the session for ``reason``, or with no reason mark it seen ``now``."""
    table = UserSession.__table__
    values = {"ended_at": now, "end_reason": reason} if reason else {"last_seen_at": now}
    connection.execute(table.update().where(table.c.id == session_id).values(**values))


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def end(session: Session, token: str | None, now: dt.datetime, reason: str) -> None:
    if token:
        session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == token_hash(token), UserSession.ended_at.is_(None))
            .values(ended_at=now, end_reason=reason)
        )


def end_all(
    session: Session, user_id: int, now: dt.datetime, reason: str, keep: str | None = None
) -> int:
    """End every live session of ``user_id`` (but the one with token ``keep``)."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user_id, UserSession.ended_at.is_(None)
    )
    if keep:
        query = query.where(UserSession.token_hash != token_hash(keep))
    return session.execute(query.values(ended_at=now, end_reason=reason)).rowcount


def live_sessions(session: Session, user_id: int, now: dt.datetime) -> list[UserSession]:
    return list(
        session.scalars(
            sa.select(UserSession)
            .where(
                UserSession.user_id == user_id,
                UserSession.ended_at.is_(None),
                UserSession.expires_at > now,
            )
            .order_by(UserSession.last_seen_at.desc())
        )
    )
