"""Counting the statements sent to the database, for the tests and benchmarks that hold
the write paths and lists to a fixed number of round trips.

A statement is one ``cursor.execute`` (or ``executemany``) as SQLAlchemy sends it: a
batch of rows inserted together is one statement. COMMIT and ROLLBACK are not counted,
nor the per-connection set-up (SQLite pragmas run below SQLAlchemy's cursor events).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa


@dataclass
class Statements:
    sql: list[str] = field(default_factory=list)  # each shortened to one line
    sent: list[tuple[str, object]] = field(default_factory=list)  # as sent, with parameters

    @property
    def count(self) -> int:
        return len(self.sql)

    def __str__(self) -> str:
        return "\n".join(f"{n}. {text}" for n, text in enumerate(self.sql, 1))


@contextmanager
def counting(engine: sa.Engine) -> Iterator[Statements]:
    """Record every statement ``engine`` runs inside the ``with`` block."""
    seen = Statements()

    def before(_conn, _cursor, statement, parameters, _context, _executemany):
        seen.sql.append(" ".join(statement.split())[:300])
        seen.sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
