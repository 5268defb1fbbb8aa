"""Database engine set-up that depends on the backend."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from .extensions import db
from .seed.bulk import restore_pragmas


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # SQLite leaves foreign keys unenforced unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Several gunicorn workers share one file: let readers and a writer work together and
    # wait for a lock instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "checkin", restore_pragmas)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"
