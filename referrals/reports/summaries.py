"""Summary tables: the referrals counted by the measures, added up per day, kept current.

What they hold (for the referrals the measures count, see ``measures.counted``):

- ``referral_day_counts``: for each day a referral was made (``referred_on``), council area
  of residence, custody suite, service, pathway, sex and age band, how many referrals had
  each *profile* of facts. The profile is an integer whose bit i is the i-th fact of
  ``measures._flags`` (accepted, engaged in window, converted...), built by the same SQL
  expressions, so a fact added there is counted here after a rebuild, with no new column;
- ``referral_day_waits``: the same days and areas, by days to first attendance and days to
  treatment start (for the wait medians and 90th percentiles);
- ``referral_day_reasons``: per day, closures by reason (entered in error too) and declines
  by reason (counted referrals only).

Every family of areas is read from the same rows: council areas (whose ADPs, police
divisions and health boards are unions of councils, added up by ``figures``), custody
suites, services (and the provider organisations running them).

Keeping them current: every change to the referrals table (an insert, an update of any
column, a delete, by the app, an import, a bulk load or by hand) writes the day(s) it
touched to ``summary_changes``, in the same transaction, by triggers (``summary_marks``).
``refresh`` adds up those days again from the referrals before the day's figures are read,
and forgets exactly the marks it has seen, so a change committed while it runs is kept for
the next refresh. A refresh rebuilds everything when the facts' SQL or the windows changed
(the ``signature``), or when asked (``flask rebuild-summaries --all``). Refreshes take turns
(they lock the one ``summary_state`` row); writers never wait for them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import Referral, UTCDateTime, utcnow
from . import summary_marks
from .measures import Window, _flags, _month, _value, combo, counted, profile_of

# Above this many days changed, one pass over every referral is quicker than day by day.
FULL_REBUILD_DAYS = 120
DAYS_PER_STATEMENT = 31
IDS_PER_STATEMENT = 500

counts = sa.Table(
    "referral_day_counts",
    db.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("council_area_id", sa.Integer, primary_key=True),
    sa.Column("custody_suite_id", sa.Integer, primary_key=True),
    sa.Column("service_id", sa.Integer, primary_key=True),
    sa.Column("pathway", sa.String(32), primary_key=True),
    sa.Column("sex", sa.String(32), primary_key=True),
    sa.Column("age_band", sa.String(32), primary_key=True),
    sa.Column("profile", sa.Integer, primary_key=True),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("referrals", sa.Integer, nullable=False),
)
waits = sa.Table(
    "referral_day_waits",
    db.metadata,
    sa.Column("day", sa.Date, nullable=False, index=True),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("council_area_id", sa.Integer, nullable=False),
    sa.Column("custody_suite_id", sa.Integer, nullable=False),
    sa.Column("service_id", sa.Integer, nullable=False),
    sa.Column("days_to_engagement", sa.Integer, nullable=False),
    sa.Column("days_to_treatment", sa.Integer),
    sa.Column("referrals", sa.Integer, nullable=False),
)
reasons = sa.Table(
    "referral_day_reasons",
    db.metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),  # "closed" or "declined"
    sa.Column("reason", sa.String(32), primary_key=True),
    sa.Column("month", sa.Integer, nullable=False),
    sa.Column("referrals", sa.Integer, nullable=False),
)
changes = sa.Table(
    "summary_changes",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False, index=True),
)
state = sa.Table(
    "summary_state",
    db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("signature", sa.String(64), nullable=False),
    sa.Column("refreshed_at", UTCDateTime, nullable=False),
)
SUMMARIES = (counts, waits, reasons)
summary_marks.attach_to(db.metadata)
KEYS = ("council_area_id", "custody_suite_id", "service_id")


@dataclass(frozen=True)
class Refreshed:
    days: int  # days added up again
    everything: bool  # every day rebuilt
    seconds: float


def signature(session: Session, engagement_days: int, treatment_days: int) -> str:
    """A fingerprint of the SQL that makes a profile, and of which referrals count: when
    a fact is added, a window changes or the rule of what counts does, the summaries no
    longer match and are rebuilt."""
    flags = _flags(engagement_days, treatment_days)
    sql = (
        sa.select(*flags)
        .where(counted())
        .compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    )
    return hashlib.sha256(str(sql).encode()).hexdigest()


def _profile(engagement_days: int, treatment_days: int) -> sa.ColumnElement:
    flags = _flags(engagement_days, treatment_days)
    bits = [flag.element * (1 << i) for i, flag in enumerate(flags)]
    return sum(bits[1:], bits[0]) if bits else sa.literal(0)


def _sources(
    engagement_days: int, treatment_days: int, days: list[dt.date] | None
) -> list[tuple[sa.Table, list[str], sa.Select]]:
    """For each summary table, the columns and the SELECT over the referrals that fills
    it (for ``days``, or every day)."""
    r = Referral
    day, month = r.referred_on, _month(r.referred_on)
    areas = [r.council_area_id, r.custody_suite_id, r.service_id]
    profile = _profile(engagement_days, treatment_days)
    people = [r.pathway, r.sex, r.age_band]

    def only(query: sa.Select) -> sa.Select:
        return query.where(r.referred_on.in_(days)) if days is not None else query

    count_query = only(
        sa.select(day, *areas, *people, profile, month, sa.func.count())
        .where(counted())
        .group_by(day, *areas, *people, profile, month)
    )
    wait_query = only(
        sa.select(day, month, *areas, r.days_to_engagement, r.days_to_treatment, sa.func.count())
        .where(counted(), r.days_to_engagement.is_not(None))
        .group_by(day, month, *areas, r.days_to_engagement, r.days_to_treatment)
    )
    reason_queries = []
    for kind, column in (("closed", r.close_reason), ("declined", r.decline_reason)):
        query = (
            sa.select(day, sa.literal(kind), column, month, sa.func.count())
            .where(column.is_not(None))
            .group_by(day, column, month)
        )
        reason_queries.append(only(query.where(counted()) if kind == "declined" else query))
    count_columns = [*(c.name for c in counts.columns)]
    wait_columns = [c.name for c in waits.columns]
    reason_columns = ["day", "kind", "reason", "month", "referrals"]
    return [
        (counts, count_columns, count_query),
        (waits, wait_columns, wait_query),
        *((reasons, reason_columns, q) for q in reason_queries),
    ]


def _insert(session: Session):
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def _lock(session: Session) -> str | None:
    """Take the refresh turn (the ``summary_state`` row, made if missing) and return the
    signature the summaries were built with (None when never built)."""
    now = utcnow()
    insert = _insert(session)(state).values(id=1, signature="", refreshed_at=now)
    session.execute(
        insert.on_conflict_do_update(index_elements=["id"], set_={"refreshed_at": now})
    )
    return session.scalar(sa.select(state.c.signature).where(state.c.id == 1)) or None


def pending(session: Session, engagement_days: int, treatment_days: int) -> bool:
    """Whether any day waits to be added up again (read without taking the turn)."""
    built = session.scalar(sa.select(state.c.signature).where(state.c.id == 1))
    if built != signature(session, engagement_days, treatment_days):
        return True
    return session.scalar(sa.select(sa.exists().where(changes.c.id.is_not(None)))) or False


def refresh(
    session: Session, engagement_days: int = 28, treatment_days: int = 84, everything=False
) -> Refreshed:
    """Add up again the days changed since the last refresh (or every day). The caller
    commits (until then the marks it forgets are kept)."""
    started = time.perf_counter()
    if not everything and not pending(session, engagement_days, treatment_days):
        return Refreshed(0, False, time.perf_counter() - started)
    wanted = signature(session, engagement_days, treatment_days)
    built = _lock(session)
    seen = session.execute(sa.select(changes.c.id, changes.c.day)).all()
    days = sorted({day for _, day in seen})
    everything = everything or built != wanted or len(days) > FULL_REBUILD_DAYS
    if everything:
        for table in SUMMARIES:
            session.execute(sa.delete(table))
        _fill(session, engagement_days, treatment_days, None)
    else:
        for i in range(0, len(days), DAYS_PER_STATEMENT):
            chunk = days[i : i + DAYS_PER_STATEMENT]
            for table in SUMMARIES:
                session.execute(sa.delete(table).where(table.c.day.in_(chunk)))
            _fill(session, engagement_days, treatment_days, chunk)
    ids = [i for i, _ in seen]
    for i in range(0, len(ids), IDS_PER_STATEMENT):
        session.execute(sa.delete(changes).where(changes.c.id.in_(ids[i : i + IDS_PER_STATEMENT])))
    session.execute(sa.update(state).where(state.c.id == 1).values(signature=wanted))
    if everything:
        days = session.execute(sa.select(sa.func.count(sa.distinct(counts.c.day)))).scalar_one()
    return Refreshed(len(days) if isinstance(days, list) else days, everything, _since(started))


def _since(started: float) -> float:
    return time.perf_counter() - started


def _fill(session, engagement_days, treatment_days, days) -> None:
    for table, columns, query in _sources(engagement_days, treatment_days, days):
        session.execute(sa.insert(table).from_select(columns, query))


# -- reading --------------------------------------------------------------------------------


def _key(key: sa.ColumnElement) -> str:
    name = getattr(key, "key", None) or getattr(key, "name", None)
    if name not in KEYS:
        raise ValueError(f"no summary by {name}")
    return name


def unit_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """As ``measures.unit_rows`` (area key, month, kind of person, profile, referrals), read
    from the summaries (after adding up the days changed since they were last read)."""
    refresh(session, window.engagement_days, window.treatment_days)
    column = counts.c[_key(key)]
    c = counts.c
    query = (
        sa.select(
            column, c.month, c.sex, c.age_band, c.pathway, c.profile, sa.func.sum(c.referrals)
        )
        .where(c.day < window.end)
        .group_by(column, c.month, c.sex, c.age_band, c.pathway, c.profile)
    )
    width = len(_flags(window.engagement_days, window.treatment_days))
    for k, m, sex, age, pathway, mask, n in session.execute(query):
        bits = [(mask >> i) & 1 for i in range(width)]
        yield k, int(m), combo(_value(sex), _value(age), _value(pathway)), profile_of(bits), int(n)


def wait_rows(session: Session, key: sa.ColumnElement, window: Window) -> Iterator[tuple]:
    """As ``measures.wait_rows``, read from the summaries."""
    refresh(session, window.engagement_days, window.treatment_days)
    column = waits.c[_key(key)]
    w = waits.c
    query = (
        sa.select(
            column, w.month, w.days_to_engagement, w.days_to_treatment, sa.func.sum(w.referrals)
        )
        .where(w.day < window.end)
        .group_by(column, w.month, w.days_to_engagement, w.days_to_treatment)
    )
    for k, m, attend, treat, n in session.execute(query):
        yield k, int(m), attend, treat, int(n)


def reason_rows(session: Session, window: Window) -> Iterator[tuple[str, int, str, int]]:
    """As ``measures.reason_rows``, read from the summaries."""
    refresh(session, window.engagement_days, window.treatment_days)
    x = reasons.c
    query = (
        sa.select(x.kind, x.month, x.reason, sa.func.sum(x.referrals))
        .where(x.day < window.end)
        .group_by(x.kind, x.month, x.reason)
    )
    for kind, m, reason, n in session.execute(query):
        yield kind, int(m), reason, int(n)
