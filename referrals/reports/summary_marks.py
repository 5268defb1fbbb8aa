"""The triggers that mark the days a change to the referrals touches, for ``summaries``.

Any insert, update or delete on ``referrals`` writes the referral date(s) it touched (old
and new) to ``summary_changes`` in the same transaction, whoever makes it: the app, the
API, an import, the demo generator's bulk load, a purge or a statement typed by hand.

SQLite: one trigger per row, which writes a day only if it is not marked already (SQLite
has one writer at a time, so a refresh cannot run between the check and the write).
PostgreSQL: one trigger per statement, over the rows the statement changed (a bulk COPY of
a million referrals adds one mark per day); each statement adds its own marks and never
waits on a refresh that is forgetting older ones.

Both are made by the migrations (and by ``create_all``, through ``attach_to``). They are
not tables or indexes the models describe, so schema comparison does not see them.
"""

from __future__ import annotations

import sqlalchemy as sa

_SQLITE_MARK = (
    "INSERT INTO summary_changes (day) SELECT {row}.referred_on WHERE NOT EXISTS "
    "(SELECT 1 FROM summary_changes WHERE day = {row}.referred_on);"
)
SQLITE_CREATE = [
    "CREATE TRIGGER referrals_summary_insert AFTER INSERT ON referrals BEGIN "
    + _SQLITE_MARK.format(row="new")
    + " END",
    "CREATE TRIGGER referrals_summary_update AFTER UPDATE ON referrals BEGIN "
    + _SQLITE_MARK.format(row="old")
    + " "
    + _SQLITE_MARK.format(row="new")
    + " END",
    "CREATE TRIGGER referrals_summary_delete AFTER DELETE ON referrals BEGIN "
    + _SQLITE_MARK.format(row="old")
    + " END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS referrals_summary_insert",
    "DROP TRIGGER IF EXISTS referrals_summary_update",
    "DROP TRIGGER IF EXISTS referrals_summary_delete",
]

_FUNCTION = """CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO summary_changes (day) {select};
    RETURN NULL;
END $$"""
POSTGRESQL_CREATE = [
    _FUNCTION.format(name="summary_mark_new", select="SELECT DISTINCT referred_on FROM new_rows"),
    _FUNCTION.format(name="summary_mark_old", select="SELECT DISTINCT referred_on FROM old_rows"),
    _FUNCTION.format(
        name="summary_mark_both",
        select="SELECT referred_on FROM old_rows UNION SELECT referred_on FROM new_rows",
    ),
    "CREATE TRIGGER referrals_summary_insert AFTER INSERT ON referrals "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION summary_mark_new()",
    "CREATE TRIGGER referrals_summary_update AFTER UPDATE ON referrals "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION summary_mark_both()",
    "CREATE TRIGGER referrals_summary_delete AFTER DELETE ON referrals "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION summary_mark_old()",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS referrals_summary_insert ON referrals",
    "DROP TRIGGER IF EXISTS referrals_summary_update ON referrals",
    "DROP TRIGGER IF EXISTS referrals_summary_delete ON referrals",
    "DROP FUNCTION IF EXISTS summary_mark_new()",
    "DROP FUNCTION IF EXISTS summary_mark_old()",
    "DROP FUNCTION IF EXISTS summary_mark_both()",
]

# Reports read the summaries and the referrals' covering index; both change all day.
# Vacuum them after a few per cent of rows change (the default waits for 20%), so
# index-only scans stay index-only and the summaries' dead rows are cleared.
POSTGRESQL_TUNING = [
    "ALTER TABLE referrals SET (autovacuum_vacuum_scale_factor = 0.01, "
    "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02)",
    *(
        f"ALTER TABLE {table} SET (autovacuum_vacuum_scale_factor = 0.02, "
        "autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05)"
        for table in ("referral_day_counts", "referral_day_waits", "referral_day_reasons")
    ),
    "ALTER TABLE summary_changes SET (autovacuum_vacuum_threshold = 1000, "
    "autovacuum_vacuum_scale_factor = 0.0)",
]


def create_statements(dialect: str) -> list[str]:
    return SQLITE_CREATE if dialect == "sqlite" else POSTGRESQL_CREATE + POSTGRESQL_TUNING


def drop_statements(dialect: str) -> list[str]:
    return SQLITE_DROP if dialect == "sqlite" else POSTGRESQL_DROP


def attach_to(metadata: sa.MetaData) -> None:
    """Make ``create_all``/``drop_all`` build and remove the triggers (after every table
    is made, before any is dropped)."""

    def create(target, connection, **kw) -> None:
        if "summary_changes" not in {t.name for t in kw.get("tables") or target.sorted_tables}:
            return
        for statement in create_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    def drop(target, connection, **kw) -> None:
        for statement in drop_statements(connection.dialect.name):
            connection.exec_driver_sql(statement)

    sa.event.listen(metadata, "after_create", create)
    sa.event.listen(metadata, "before_drop", drop)
