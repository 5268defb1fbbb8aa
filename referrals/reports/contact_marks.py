"""The triggers that mark the days a change to the custody contacts touches, for
``contact_summaries``, and a bulk load's way round them.

Any insert, update or delete on ``custody_contacts`` writes the contact date(s) it touched
(old and new) to ``contact_summary_changes`` in the same transaction, whoever makes it, as
``summary_marks`` does for the referrals: one trigger per row on SQLite (writing a day only
if it is not marked already), one per statement on PostgreSQL (a COPY of a hundred
thousand contacts adds one mark per day it holds).

A bulk load of millions of rows on SQLite would run the per-row triggers millions of
times; ``marks_paused`` takes the triggers of both tables off for the load, and afterwards
marks, in one statement per table, every day the tables hold that is not marked yet.

Made by the migrations (and by ``create_all``, through ``attach_to``); schema comparison
does not see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from . import summary_marks

_SQLITE_MARK = (
    "INSERT INTO contact_summary_changes (day) SELECT {row}.contact_on WHERE NOT EXISTS "
    "(SELECT 1 FROM contact_summary_changes WHERE day = {row}.contact_on);"
)
SQLITE_CREATE = [
    "CREATE TRIGGER custody_contacts_summary_insert AFTER INSERT ON custody_contacts BEGIN "
    + _SQLITE_MARK.format(row="new")
    + " END",
    "CREATE TRIGGER custody_contacts_summary_update AFTER UPDATE ON custody_contacts BEGIN "
    + _SQLITE_MARK.format(row="old")
    + " "
    + _SQLITE_MARK.format(row="new")
    + " END",
    "CREATE TRIGGER custody_contacts_summary_delete AFTER DELETE ON custody_contacts BEGIN "
    + _SQLITE_MARK.format(row="old")
    + " END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS custody_contacts_summary_insert",
    "DROP TRIGGER IF EXISTS custody_contacts_summary_update",
    "DROP TRIGGER IF EXISTS custody_contacts_summary_delete",
]

_FUNCTION = """CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contact_summary_changes (day) {select};
    RETURN NULL;
END $$"""
POSTGRESQL_CREATE = [
    _FUNCTION.format(
        name="contact_summary_mark_new", select="SELECT DISTINCT contact_on FROM new_rows"
    ),
    _FUNCTION.format(
        name="contact_summary_mark_old", select="SELECT DISTINCT contact_on FROM old_rows"
    ),
    _FUNCTION.format(
        name="contact_summary_mark_both",
        select="SELECT contact_on FROM old_rows UNION SELECT contact_on FROM new_rows",
    ),
    "CREATE TRIGGER custody_contacts_summary_insert AFTER INSERT ON custody_contacts "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION contact_summary_mark_new()",
    "CREATE TRIGGER custody_contacts_summary_update AFTER UPDATE ON custody_contacts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION contact_summary_mark_both()",
    "CREATE TRIGGER custody_contacts_summary_delete AFTER DELETE ON custody_contacts "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION contact_summary_mark_old()",
    "ALTER TABLE contact_day_counts SET (autovacuum_vacuum_scale_factor = 0.02, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05)",
    "ALTER TABLE contact_summary_changes SET (autovacuum_vacuum_threshold = 1000, "
    "autovacuum_vacuum_scale_factor = 0.0)",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS custody_contacts_summary_insert ON custody_contacts",
    "DROP TRIGGER IF EXISTS custody_contacts_summary_update ON custody_contacts",
    "DROP TRIGGER IF EXISTS custody_contacts_summary_delete ON custody_contacts",
    "DROP FUNCTION IF EXISTS contact_summary_mark_new()",
    "DROP FUNCTION IF EXISTS contact_summary_mark_old()",
    "DROP FUNCTION IF EXISTS contact_summary_mark_both()",
]

# (table, its date column, the table its marks go to), for marking after a bulk load.
MARKED = (
    ("referrals", "referred_on", "summary_changes"),
    ("custody_contacts", "contact_on", "contact_summary_changes"),
)


def create_statements(dialect: str) -> list[str]:
    return SQLITE_CREATE if dialect == "sqlite" else POSTGRESQL_CREATE


def drop_statements(dialect: str) -> list[str]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRESQL_DROP


@contextmanager
def marks_paused(connection: Connection) -> Iterator[None]:
    """For a bulk load into the referrals and contacts: on SQLite, no per-row marking
    during the load, and every day the two tables hold marked once at the end (in the
    load's transaction). PostgreSQL's statement triggers stay on: they are cheap."""
    if connection.dialect.name != "sqlite":
        yield
        return
    for statement in summary_marks.SQLITE_DROP + SQLITE_DROP:
        connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        for statement in summary_marks.SQLITE_CREATE + SQLITE_CREATE:
            connection.exec_driver_sql(statement)
    for table, column, marks in MARKED:
        connection.exec_driver_sql(
            f"INSERT INTO {marks} (day) SELECT DISTINCT {column} FROM {table} "  # noqa: S608
            f"WHERE {column} NOT IN (SELECT day FROM {marks})"
        )


def attach_to(metadata: sa.MetaData) -> None:
    """Make ``create_all``/``drop_all`` build and remove the triggers."""

    def create(target, connection, **kw) -> None:
        names = {t.name for t in kw.get("tables") or target.sorted_tables}
        if "contact_summary_changes" not in names:
            return
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    def drop(target, connection, **kw) -> None:
        for statement in drop_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    sa.event.listen(metadata, "after_create", create)
    sa.event.listen(metadata, "before_drop", drop)
