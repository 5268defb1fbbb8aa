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

A contact counts as a referral made only while its referral is not closed as entered in
error (``contact_measures.referral_saved``), so a referral closed so, or its closing taken
back, marks the day of the contact it came from too (``IN_ERROR_TRIGGER``, on
``referrals``; a row trigger that fires only when the closing to or from "entered in
error" changes). The same trigger marks, for the referral summaries, the day of the
referral it was passed on from, if any: that one counts again while every referral it
was passed on to is closed as entered in error (``measures.counted``); so do two more
(``PASSED_ON_TRIGGERS``) when a referral passed on is added or removed.

Made by the migrations (and by ``create_all``, through ``attach_to``); schema comparison
does not see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..choices import CloseReason
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

IN_ERROR_TRIGGER = "referrals_contact_error_mark"
_IN_ERROR_FUNCTION = "contact_error_mark"
# A referral passed on from another, added or removed (an import, a repair by hand):
# the other's day. The app itself adds them only beside a change to the other.
PASSED_ON_TRIGGERS = ("referrals_passed_on_mark_insert", "referrals_passed_on_mark_delete")
_PASSED_ON_FUNCTIONS = ("passed_on_mark_new", "passed_on_mark_old")
# The names and the code in these statements are this module's own constants, never input.
_ERROR = CloseReason.ENTERED_IN_ERROR.value
_MARK_CONTACT_DAYS = (
    f"INSERT INTO {CONTACTS.changes} (day) SELECT contact_on FROM custody_contacts "  # noqa: S608
    "WHERE referral_id = NEW.id;"
)


def _mark_passed_on_from(row: str) -> str:
    return (
        f"INSERT INTO {summary_marks.REFERRALS.changes} (day) "  # noqa: S608
        f"SELECT referred_on FROM referrals WHERE id = {row}.referred_from_id;"
    )


def _sqlite_statements(passed_on_from: bool) -> list[str]:
    changed = f"(OLD.close_reason IS '{_ERROR}') <> (NEW.close_reason IS '{_ERROR}')"
    if not passed_on_from:
        return [
            f"CREATE TRIGGER {IN_ERROR_TRIGGER} AFTER UPDATE OF close_reason ON referrals "
            f"WHEN {changed} BEGIN {_MARK_CONTACT_DAYS} END"
        ]
    moved = "OLD.referred_from_id IS NOT NEW.referred_from_id"
    both = _mark_passed_on_from("OLD") + " " + _mark_passed_on_from("NEW")
    insert, delete = PASSED_ON_TRIGGERS
    return [
        f"CREATE TRIGGER {IN_ERROR_TRIGGER} AFTER UPDATE OF close_reason, referred_from_id "
        f"ON referrals WHEN {changed} OR {moved} BEGIN {_MARK_CONTACT_DAYS} {both} END",
        f"CREATE TRIGGER {insert} AFTER INSERT ON referrals "
        f"WHEN NEW.referred_from_id IS NOT NULL BEGIN {_mark_passed_on_from('NEW')} END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON referrals "
        f"WHEN OLD.referred_from_id IS NOT NULL BEGIN {_mark_passed_on_from('OLD')} END",
    ]


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$\nBEGIN\n    {body}\n    RETURN NULL;\nEND $$"
    )


def _postgresql_statements(passed_on_from: bool) -> list[str]:
    changed = (
        f"(OLD.close_reason IS NOT DISTINCT FROM '{_ERROR}') IS DISTINCT FROM "
        f"(NEW.close_reason IS NOT DISTINCT FROM '{_ERROR}')"
    )
    if not passed_on_from:
        return [
            _function(_IN_ERROR_FUNCTION, _MARK_CONTACT_DAYS),
            f"CREATE TRIGGER {IN_ERROR_TRIGGER} AFTER UPDATE OF close_reason ON referrals "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {_IN_ERROR_FUNCTION}()",
        ]
    moved = "OLD.referred_from_id IS DISTINCT FROM NEW.referred_from_id"
    both = _mark_passed_on_from("OLD") + " " + _mark_passed_on_from("NEW")
    insert, delete = PASSED_ON_TRIGGERS
    new, old = _PASSED_ON_FUNCTIONS
    return [
        _function(_IN_ERROR_FUNCTION, f"{_MARK_CONTACT_DAYS} {both}"),
        f"CREATE TRIGGER {IN_ERROR_TRIGGER} AFTER UPDATE OF close_reason, referred_from_id "
        f"ON referrals FOR EACH ROW WHEN ({changed} OR {moved}) "
        f"EXECUTE FUNCTION {_IN_ERROR_FUNCTION}()",
        _function(new, _mark_passed_on_from("NEW")),
        _function(old, _mark_passed_on_from("OLD")),
        f"CREATE TRIGGER {insert} AFTER INSERT ON referrals FOR EACH ROW "
        f"WHEN (NEW.referred_from_id IS NOT NULL) EXECUTE FUNCTION {new}()",
        f"CREATE TRIGGER {delete} AFTER DELETE ON referrals FOR EACH ROW "
        f"WHEN (OLD.referred_from_id IS NOT NULL) EXECUTE FUNCTION {old}()",
    ]


def in_error_create_statements(dialect: str, passed_on_from: bool = True) -> list[str]:
    """The trigger marking the contact's day when its referral is closed as entered in
    error, or that closing is taken back; and (``passed_on_from``) those marking the day
    of the referral a referral was passed on from, when that closing changes, or a
    referral passed on is added, removed or linked to another."""
    if dialect == "sqlite":
        return _sqlite_statements(passed_on_from)
    return _postgresql_statements(passed_on_from)


def in_error_drop_statements(dialect: str) -> list[str]:
    names = (IN_ERROR_TRIGGER, *PASSED_ON_TRIGGERS)
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
    return [
        *(f"DROP TRIGGER IF EXISTS {name} ON referrals" for name in names),
        *(f"DROP FUNCTION IF EXISTS {f}()" for f in (_IN_ERROR_FUNCTION, *_PASSED_ON_FUNCTIONS)),
    ]


def attach_to(metadata: sa.MetaData) -> None:
    """Make ``create_all``/``drop_all`` build and remove the contacts' triggers and the
    one on the referrals (after every table is made, before any is dropped)."""
    CONTACTS.attach_to(metadata)

    def create(target, connection, **kw) -> None:
        names = {t.name for t in kw.get("tables") or target.sorted_tables}
        if CONTACTS.changes in names and "referrals" in names:
            for statement in in_error_create_statements(connection.dialect.name):
                connection.exec_driver_sql(statement)

    def drop(target, connection, **kw) -> None:
        for statement in in_error_drop_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    sa.event.listen(metadata, "after_create", create)
    sa.event.listen(metadata, "before_drop", drop)


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
