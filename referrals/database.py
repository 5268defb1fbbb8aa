"""Database engine set-up that depends on the backend."""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter

from .extensions import db
from .seed.bulk import restore_pragmas

# Row ids are 32-bit integers in PostgreSQL; a bigger number can name no row, and asking
# for one would be an error in the database rather than "not found".
MAX_ID = 2**31 - 1

# An execution option: send this statement's results in PostgreSQL's binary format.
BINARY_RESULTS = "binary_results"


def as_id(value: object) -> int | None:
    """``value`` as a row id, or None when it cannot be one (not a number, out of range)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


class IdConverter(IntegerConverter):
    """``<int:...>`` in routes: a 404 for numbers no row can have, on every database."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def hold_row(session: Session, row: Any, *attributes: str) -> None:
    """Make every other transaction that holds the same row as ORM object ``row`` wait
    until this one ends, and read ``row`` again (only ``attributes``, if named): a check
    on it then the write it allows cannot be overtaken. Reads from here on see every
    earlier commit.

    On PostgreSQL, the row locked against other changes (``SELECT ... FOR NO KEY
    UPDATE``: rows that refer to it, such as its events, may still be added meanwhile).
    On SQLite, where one transaction at a time writes, the write lock, taken by an
    update of no row."""
    table = type(row).__table__
    if session.get_bind().dialect.name == "postgresql":
        held = sa.select(table.c.id).where(table.c.id == row.id).with_for_update(key_share=True)
        session.execute(held)
    else:
        session.execute(sa.update(table).where(sa.false()).values(id=table.c.id))
    session.expire(row, list(attributes) or None)


def reset_schema(url: str) -> None:
    """Empty a throwaway PostgreSQL database (for the tests and benchmarks) by dropping and
    recreating its public schema. Nothing to do for SQLite: they use a new file."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


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


def _binary_results(cursor: Any, statement: str, parameters: Any, context: Any) -> bool:
    """Run a statement executed with the ``BINARY_RESULTS`` option with its results in
    PostgreSQL's binary format (psycopg's ``binary=True``): numbers arrive as machine
    values instead of text to parse, about half the cost for the thousands of
    coordinates a search reads, and the very same values. Other statements are left to
    the dialect (False)."""
    if not context.execution_options.get(BINARY_RESULTS):
        return False
    cursor.execute(statement, parameters, binary=True)
    return True


# A pooled connection that has lain idle this long is tested before use. A restart of the
# database takes longer than this, so every connection made before one has lain idle at
# least that long and is tested (and replaced) rather than failing a request; one in
# steady use (a busy worker takes it again within milliseconds) is not tested on every
# request, as SQLAlchemy's ``pool_pre_ping`` would: a round trip each, about a tenth of a
# simple page's time under load.
PING_AFTER_IDLE_SECONDS = 1.0


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: sa.Engine) -> Any:
    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)  # none yet: just connected
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            # The pool drops this connection and checks out a fresh one.
            raise sa.exc.DisconnectionError("The database connection was lost.") from exc

    return checkout


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
            sa.event.listen(engine, "checkin", restore_pragmas)
            return
        sa.event.listen(engine, "checkin", _note_idle)
        sa.event.listen(engine, "checkout", _ping_if_idle(engine))
        if engine.dialect.driver == "psycopg":
            sa.event.listen(engine, "do_execute", _binary_results)


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"
