"""Counts for rate limits, kept in the app's own database so that every gunicorn worker
and every machine sharing the database counts together, with no server of its own.

A counter is a key, a count and the moment it expires (a fixed window): the first hit
after expiry starts a new window. One ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
statement counts a hit, so concurrent workers never lose one. Keys are HMACs of what
they count (an address, an email as typed), so the table holds no address or email.

``DatabaseStorage`` makes these counters a storage for Flask-Limiter, chosen with
``RATELIMIT_STORAGE_URI=database://`` (the default); ``redis://host:6379`` uses Redis
instead. The sign-in throttle (``auth/throttle.py``) uses ``hit``/``count`` directly.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time

import sqlalchemy as sa
from flask import current_app
from limits.storage import Storage
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from .extensions import db

counters = sa.Table(
    "rate_limit_counters",
    db.metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    # Seconds since the epoch (UTC) when this window ends.
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)
# Now and then a hit also deletes long-expired counters, so the table stays small.
SWEEP_CHANCE = 0.002


def counter_key(*parts: str) -> str:
    """A key for ``parts`` that does not reveal them."""
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def _insert(connection: Connection):
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert


def hit(connection: Connection, key: str, window: float, amount: int = 1) -> int:
    """Add ``amount`` to the counter ``key`` (a window of ``window`` seconds from its
    first hit) and return the count in the current window."""
    return hit_window(connection, key, window, amount)[0]


def hit_window(
    connection: Connection, key: str, window: float, amount: int = 1
) -> tuple[int, float]:
    """``hit``, returning the count and when its window ends. Until the transaction ends,
    other transactions counting the same key wait for it (on PostgreSQL: the row stays
    locked), so a check made after the hit sees every attempt made before it."""
    now = time.time()
    c = counters.c
    expired = c.expires_at <= now
    statement = (
        _insert(connection)(counters)
        .values(key=key, count=amount, expires_at=now + window)
        .on_conflict_do_update(
            index_elements=[c.key],
            set_={
                "count": sa.case((expired, amount), else_=c.count + amount),
                "expires_at": sa.case((expired, now + window), else_=c.expires_at),
            },
        )
        .returning(c.count, c.expires_at)
    )
    result = connection.execute(statement).one()
    if random.random() < SWEEP_CHANCE:
        sweep(connection, now)
    return result.count, result.expires_at


def count(connection: Connection, key: str) -> tuple[int, float]:
    """The count in the current window and when that window ends (0 and now if none)."""
    now = time.time()
    row = connection.execute(
        sa.select(counters.c.count, counters.c.expires_at).where(
            counters.c.key == key, counters.c.expires_at > now
        )
    ).first()
    return (row.count, row.expires_at) if row else (0, now)


def clear(connection: Connection, keys: list[str]) -> None:
    connection.execute(sa.delete(counters).where(counters.c.key.in_(keys)))


def sweep(connection: Connection, now: float | None = None) -> int:
    """Delete counters whose window ended; return how many."""
    now = time.time() if now is None else now
    return connection.execute(sa.delete(counters).where(counters.c.expires_at <= now)).rowcount


class DatabaseStorage(Storage):
    """Flask-Limiter's counts in the app's database (``database://``)."""

    STORAGE_SCHEME = ["database"]

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        with db.engine.begin() as connection:
            return hit(connection, counter_key("limit", key), expiry, amount)

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            return count(connection, counter_key("limit", key))[0]

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            return count(connection, counter_key("limit", key))[1]

    def check(self) -> bool:
        with db.engine.connect() as connection:
            connection.execute(sa.select(1))
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(sa.delete(counters)).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            clear(connection, [counter_key("limit", key)])
