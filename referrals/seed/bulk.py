"""Fast inserts of many rows: ``executemany`` on SQLite, ``COPY`` on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def bulk_insert(
    connection: Connection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    chunk: int = 50_000,
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; return the count.

    Values go to the driver as they are: dates and times should already be ISO text
    (with an offset for PostgreSQL timestamps), booleans Python bools.
    """
    raw = connection.connection.driver_connection
    names = ", ".join(columns)
    total = 0
    if connection.dialect.name == "postgresql":
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
                total += 1
        return total
    placeholders = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})"  # noqa: S608
    cursor = raw.cursor()
    batch: list[Sequence] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            cursor.executemany(sql, batch)
            total += len(batch)
            batch.clear()
    if batch:
        cursor.executemany(sql, batch)
        total += len(batch)
    cursor.close()
    return total


def reset_sequence(connection: Connection, table: sa.Table, column: str = "id") -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column}'), "  # noqa: S608
            f"COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
        )
    )


RESTORE_PRAGMAS = "restore_sqlite_pragmas"


def restore_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Pool check-in hook: undo ``bulk_load_mode``'s relaxed SQLite settings."""
    foreign_keys = connection_record.info.pop(RESTORE_PRAGMAS, None)
    if foreign_keys is None:
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    if foreign_keys:
        cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def bulk_load_mode(
    connection: Connection, tables: Sequence[sa.Table], drop_indexes: bool
) -> Iterator[None]:
    """Make a large load into ``tables`` fast, then put everything back as it was.

    Non-unique indexes are dropped and rebuilt afterwards (one sort instead of a million
    B-tree inserts). On SQLite, per-row CHECK and foreign key checks are switched off for
    the load (foreign keys only when no transaction is open yet) and foreign keys are
    verified once at the end. Only for rows built by code that guarantees valid values.
    """
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.driver_connection
    indexes = (
        [ix for table in tables for ix in table.indexes if not ix.unique] if drop_indexes else []
    )
    fk_was_on = relaxed = False
    if sqlite:
        raw.execute("PRAGMA ignore_check_constraints=ON")
        # These two cannot change inside a transaction (SQLite ignores or refuses it).
        if not raw.in_transaction:
            relaxed = True
            fk_was_on = raw.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            raw.execute("PRAGMA foreign_keys=OFF")
            raw.execute("PRAGMA synchronous=OFF")
    for index in indexes:
        index.drop(bind=connection)
    try:
        yield
    finally:
        for index in indexes:
            index.create(bind=connection)
        if sqlite:
            raw.execute("PRAGMA ignore_check_constraints=OFF")
        if relaxed:
            # Restored when the connection goes back to the pool, after the commit.
            connection.connection.info[RESTORE_PRAGMAS] = fk_was_on
    if sqlite and fk_was_on:
        for table in tables:
            problems = raw.execute(f"PRAGMA foreign_key_check({table.name})").fetchmany(5)
            if problems:
                raise sa.exc.IntegrityError(
                    f"bulk load into {table.name} broke foreign keys: {problems}", None, None
                )
