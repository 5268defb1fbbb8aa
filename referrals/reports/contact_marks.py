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

from sqlalchemy.engine import Connection

from . import summary_marks

CONTACTS = summary_marks.DayMarks(
    "custody_contacts",
    "contact_on",
    "contact_summary_changes",
    "contact_summary_mark",
    (
        "ALTER TABLE contact_day_counts SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05)",
        "ALTER TABLE contact_summary_changes SET (autovacuum_vacuum_threshold = 1000, "
        "autovacuum_vacuum_scale_factor = 0.0)",
    ),
)
create_statements = CONTACTS.create_statements
drop_statements = CONTACTS.drop_statements
attach_to = CONTACTS.attach_to


@contextmanager
def marks_paused(connection: Connection) -> Iterator[None]:
    """For a bulk load into the referrals and contacts: on SQLite, no per-row marking
    during the load, and every day the two tables hold marked once at the end (in the
    load's transaction). PostgreSQL's statement triggers stay on: they are cheap."""
    if connection.dialect.name != "sqlite":
        yield
        return
    both = (summary_marks.REFERRALS, CONTACTS)
    for marks in both:
        for statement in marks.sqlite_drop():
            connection.exec_driver_sql(statement)
    try:
        yield
    finally:
        for marks in both:
            for statement in marks.sqlite_create():
                connection.exec_driver_sql(statement)
    for marks in both:
        connection.exec_driver_sql(
            f"INSERT INTO {marks.changes} (day) SELECT DISTINCT {marks.column} "  # noqa: S608
            f"FROM {marks.table} WHERE {marks.column} NOT IN (SELECT day FROM {marks.changes})"
        )
