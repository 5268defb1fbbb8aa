"""The contact summary: the custody contacts counted by the contact measures, added up per
day, kept current like the referrals' summaries (``summaries``).

``contact_day_counts`` holds, for each day contacts were seen (``contact_on``), council area
of residence, custody suite, sex and age band, how many contacts had each *profile* of
facts: an integer whose bit i is the i-th fact of ``contact_measures.contact_flags``
(offered, referral made, not carrying naloxone, naloxone supplied), built by the same SQL,
so a fact added there is counted here after a rebuild, with no new column. The month is
stored with each row, so reading the summary works out no date per contact.

Keeping it current: every change to the custody contacts writes the day(s) it touched to
``contact_summary_changes`` in the same transaction, by triggers (``contact_marks``).
``refresh`` adds up those days again before the contact figures are read (the daily
snapshot build and ``flask rebuild-summaries`` do it too) and forgets exactly the marks it
has seen. It rebuilds every day when the facts' SQL changed (the ``signature``, kept in
``summary_state`` row 2) or when asked. Refreshes take turns on that row; writers never
wait for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contacts.models import CustodyContact
from ..extensions import db
from ..models import utcnow
from . import contact_marks
from .contact_measures import contact_flags
from .measures import AGE_GROUP, SEX_GROUP, Window, _month, _value
from .summaries import (
    DAYS_PER_STATEMENT,
    FULL_REBUILD_DAYS,
    IDS_PER_STATEMENT,
    Refreshed,
    _insert,
    state,
)

STATE_ID = 2  # the contact summary's row of ``summary_state`` (1: the referrals')
KEYS = ("council_area_id", "custody_suite_id")

counts = sa.Table(
    "contact_day_counts",
    db.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("council_area_id", sa.Integer, primary_key=True),
    sa.Column("custody_suite_id", sa.Integer, primary_key=True),
    sa.Column("sex", sa.String(32), primary_key=True),
    sa.Column("age_band", sa.String(32), primary_key=True),
    sa.Column("profile", sa.Integer, primary_key=True),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("contacts", sa.Integer, nullable=False),
    # One per family, in the reading's GROUP BY order, holding every column it reads: the
    # contact units are added up from the index alone, without sorting (at 3,000,000
    # contacts, SQLite's sort of the day rows took ten times the reading itself).
    *(
        sa.Index(
            f"ix_contact_day_counts_{key}",
            key,
            "month",
            "sex",
            "age_band",
            "profile",
            "day",
            "contacts",
        )
        for key in ("council_area_id", "custody_suite_id")
    ),
)
changes = sa.Table(
    "contact_summary_changes",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False, index=True),
)
contact_marks.attach_to(db.metadata)


def signature(session: Session) -> str:
    """A fingerprint of the SQL that makes a contact's profile."""
    sql = sa.select(*contact_flags()).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    return hashlib.sha256(str(sql).encode()).hexdigest()


def _profile() -> sa.ColumnElement:
    bits = [flag.element * (1 << i) for i, flag in enumerate(contact_flags())]
    return sum(bits[1:], bits[0])


def _source(days: list[dt.date] | None) -> sa.Select:
    """The SELECT over the contacts that fills the summary (for ``days``, or every day)."""
    c = CustodyContact
    profile = _profile()
    columns = [c.contact_on, c.council_area_id, c.custody_suite_id, c.sex, c.age_band]
    query = sa.select(*columns, profile, _month(c.contact_on), sa.func.count()).group_by(
        *columns, profile
    )
    return query.where(c.contact_on.in_(days)) if days is not None else query


def _lock(session: Session) -> str | None:
    now = utcnow()
    insert = _insert(session)(state).values(id=STATE_ID, signature="", refreshed_at=now)
    session.execute(
        insert.on_conflict_do_update(index_elements=["id"], set_={"refreshed_at": now})
    )
    return session.scalar(sa.select(state.c.signature).where(state.c.id == STATE_ID)) or None


def pending(session: Session) -> bool:
    """Whether any day waits to be added up again (read without taking the turn)."""
    built = session.scalar(sa.select(state.c.signature).where(state.c.id == STATE_ID))
    if built != signature(session):
        return True
    return session.scalar(sa.select(sa.exists().where(changes.c.id.is_not(None)))) or False


def refresh(session: Session, everything: bool = False) -> Refreshed:
    """Add up again the days whose contacts changed since the last refresh (or every
    day). The caller commits (until then the marks it forgets are kept)."""
    started = time.perf_counter()
    if not everything and not pending(session):
        return Refreshed(0, False, time.perf_counter() - started)
    wanted = signature(session)
    built = _lock(session)
    seen = session.execute(sa.select(changes.c.id, changes.c.day)).all()
    days = sorted({day for _, day in seen})
    everything = everything or built != wanted or len(days) > FULL_REBUILD_DAYS
    names = [c.name for c in counts.columns]
    if everything:
        session.execute(sa.delete(counts))
        session.execute(sa.insert(counts).from_select(names, _source(None)))
    else:
        for i in range(0, len(days), DAYS_PER_STATEMENT):
            chunk = days[i : i + DAYS_PER_STATEMENT]
            session.execute(sa.delete(counts).where(counts.c.day.in_(chunk)))
            session.execute(sa.insert(counts).from_select(names, _source(chunk)))
    ids = [i for i, _ in seen]
    for i in range(0, len(ids), IDS_PER_STATEMENT):
        session.execute(sa.delete(changes).where(changes.c.id.in_(ids[i : i + IDS_PER_STATEMENT])))
    session.execute(sa.update(state).where(state.c.id == STATE_ID).values(signature=wanted))
    if everything:
        total = session.execute(sa.select(sa.func.count(sa.distinct(counts.c.day)))).scalar_one()
        return Refreshed(total, True, time.perf_counter() - started)
    return Refreshed(len(days), False, time.perf_counter() - started)


def contact_unit_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """As ``contact_measures.contact_unit_rows`` (area key, month, (sex, age) group,
    profile, contacts), read from the summary (after adding up the days changed since it
    was last read)."""
    name = getattr(key, "key", None) or getattr(key, "name", None)
    if name not in KEYS:
        raise ValueError(f"no contact summary by {name}")
    refresh(session)
    c = counts.c
    column = c[name]
    query = (
        sa.select(column, c.month, c.sex, c.age_band, c.profile, sa.func.sum(c.contacts))
        .where(c.day < window.end)
        .group_by(column, c.month, c.sex, c.age_band, c.profile)
    )
    width = len(contact_flags())
    for k, m, sex, age, mask, n in session.execute(query):
        combo = (SEX_GROUP[_value(sex)], AGE_GROUP[_value(age)])
        yield k, int(m), combo, (1, *((mask >> i) & 1 for i in range(width))), int(n)
