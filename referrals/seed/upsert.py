"""Insert-or-update of reference rows by their natural key, with counts of what changed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session


@dataclass
class LoadReport:
    """Counts of rows created, updated and left unchanged, per table."""

    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, table: str, outcome: str) -> None:
        self.counts.setdefault(table, Counter())[outcome] += 1

    @property
    def changed(self) -> int:
        return sum(c["created"] + c["updated"] for c in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{table}: {c['created']} created, {c['updated']} updated, {c['unchanged']} unchanged"
            + (f", {c['kept']} kept as an administrator edited them" if c["kept"] else "")
            for table, c in self.counts.items()
        ]


def upsert(
    session: Session,
    model: type,
    key: str | tuple[str, ...],
    rows: list[dict[str, Any]],
    report: LoadReport,
    fallback: str | tuple[str, ...] | None = None,
) -> dict[Any, Any]:
    """Insert or update ``rows`` of ``model`` matched on ``key``, or failing that on
    ``fallback`` (for a row whose key is not stored yet); return objects by key. Rows
    an administrator has edited (``edited_at`` set) are kept as they are, but for a
    ``key`` not stored yet, which is filled in."""

    def getter(names: str | tuple[str, ...]):
        names = (names,) if isinstance(names, str) else names

        def key_of(values: Any) -> Any:
            if isinstance(values, dict):
                found = tuple(values[k] for k in names)
            else:
                found = tuple(getattr(values, k) for k in names)
            return found[0] if len(found) == 1 else found

        return names, key_of

    keys, key_of = getter(key)
    stored = list(session.scalars(sa.select(model)))
    existing = {key_of(obj): obj for obj in stored}
    existing.pop(None, None)
    others: dict[Any, Any] = {}
    if fallback is not None:
        _, fallback_of = getter(fallback)
        others = {fallback_of(obj): obj for obj in stored}
    table = model.__tablename__
    for row in rows:
        obj = existing.get(key_of(row))
        if obj is None and fallback is not None:
            obj = others.get(fallback_of(row))
            if obj is not None and any(getattr(obj, k) is None for k in keys):
                for k in keys:  # a row stored before the key was: filled in
                    setattr(obj, k, row[k])
                existing[key_of(row)] = obj
            else:
                obj = None  # stored under another key: this row is another one
        if obj is None:
            obj = model(**row)
            session.add(obj)
            existing[key_of(row)] = obj
            report.add(table, "created")
            continue
        if getattr(obj, "edited_at", None) is not None:
            report.add(table, "kept")
            continue
        changed = False
        for name, value in row.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        report.add(table, "updated" if changed else "unchanged")
    session.flush()
    return existing
