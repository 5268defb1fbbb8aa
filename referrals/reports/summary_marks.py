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

from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class DayMarks:
    """The triggers writing the days changes to ``table`` touch (its ``column``) to
    ``changes``: triggers named ``{table}_summary_*``, PostgreSQL functions ``{function}_*``,
    and extra PostgreSQL settings made with them."""

    table: str
    column: str
    changes: str
    function: str
    postgresql_settings: tuple[str, ...] = ()

    @property
    def triggers(self) -> list[str]:
        return [f"{self.table}_summary_{event}" for event in ("insert", "update", "delete")]

    # The names in these statements are this module's own constants, never input.

    def sqlite_create(self) -> list[str]:
        changes, column = self.changes, self.column
        mark = (
            f"INSERT INTO {changes} (day) SELECT {{row}}.{column} WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM {changes} WHERE day = {{row}}.{column});"
        )
        insert, update, delete = self.triggers
        on = f"ON {self.table} BEGIN "
        return [
            f"CREATE TRIGGER {insert} AFTER INSERT {on}" + mark.format(row="new") + " END",
            f"CREATE TRIGGER {update} AFTER UPDATE {on}"
            + mark.format(row="old")
            + " "
            + mark.format(row="new")
            + " END",
            f"CREATE TRIGGER {delete} AFTER DELETE {on}" + mark.format(row="old") + " END",
        ]

    def sqlite_drop(self) -> list[str]:
        return [f"DROP TRIGGER IF EXISTS {name}" for name in self.triggers]

    def postgresql_create(self) -> list[str]:
        column, name = self.column, self.function
        function = (
            "CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n    INSERT INTO {self.changes} (day) {{select}};\n"
            "    RETURN NULL;\nEND $$"
        )
        insert, update, delete = self.triggers
        new = f"SELECT DISTINCT {column} FROM new_rows"  # noqa: S608
        old = f"SELECT DISTINCT {column} FROM old_rows"  # noqa: S608
        both = f"SELECT {column} FROM old_rows UNION SELECT {column} FROM new_rows"  # noqa: S608
        return [
            function.format(name=f"{name}_new", select=new),
            function.format(name=f"{name}_old", select=old),
            function.format(name=f"{name}_both", select=both),
            f"CREATE TRIGGER {insert} AFTER INSERT ON {self.table} "
            f"REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_new()",
            f"CREATE TRIGGER {update} AFTER UPDATE ON {self.table} "
            "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}_both()",
            f"CREATE TRIGGER {delete} AFTER DELETE ON {self.table} "
            f"REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}_old()",
            *self.postgresql_settings,
        ]

    def postgresql_drop(self) -> list[str]:
        return [
            *(f"DROP TRIGGER IF EXISTS {t} ON {self.table}" for t in self.triggers),
            *(f"DROP FUNCTION IF EXISTS {self.function}_{k}()" for k in ("new", "old", "both")),
        ]

    def create_statements(self, dialect: str) -> list[str]:
        return self.sqlite_create() if dialect == "sqlite" else self.postgresql_create()

    def drop_statements(self, dialect: str) -> list[str]:
        return self.sqlite_drop() if dialect == "sqlite" else self.postgresql_drop()

    def attach_to(self, metadata: sa.MetaData) -> None:
        """Make ``create_all``/``drop_all`` build and remove the triggers (after every
        table is made, before any is dropped)."""

        def create(target, connection, **kw) -> None:
            names = {t.name for t in kw.get("tables") or target.sorted_tables}
            if self.changes not in names:
                return
            for statement in self.create_statements(connection.dialect.name):
                connection.exec_driver_sql(statement)

        def drop(target, connection, **kw) -> None:
            for statement in self.drop_statements(connection.dialect.name):
                connection.exec_driver_sql(statement)

        sa.event.listen(metadata, "after_create", create)
        sa.event.listen(metadata, "before_drop", drop)


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


REFERRALS = DayMarks(
    "referrals", "referred_on", "summary_changes", "summary_mark", tuple(POSTGRESQL_TUNING)
)
create_statements = REFERRALS.create_statements
drop_statements = REFERRALS.drop_statements
attach_to = REFERRALS.attach_to
