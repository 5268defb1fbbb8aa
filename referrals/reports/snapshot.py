"""One day's published figures, worked out once and kept.

Aggregate reports show the figures as at the start of the day: the first request of the day
(or ``flask refresh-reports``, or the background sender each night) works them out and
protects them (see ``figures``), and every page, export and API answer that day reads the
same stored figures. So the figures do not move while a reader compares two pages, the
cost of a page does not grow with the number of referrals, and a report published on a past
day can be shown again exactly as it was (``as_of``).

Several app servers may ask at once: the first to insert the day's row builds it, the
others wait for it (or show the previous day's figures meanwhile). Days are kept for 40
days, and the first of every month for good.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, defer, mapped_column

from ..extensions import db
from ..models import UTCDateTime, utcnow
from .contact_summaries import refresh as refresh_contacts
from .figures import Earlier, Published, Settings, build, code_names
from .summaries import refresh

KEEP_DAYS = 40
STALE_BUILD = dt.timedelta(minutes=15)
# The lock that storing a day's figures and giving an area or scheme a new code take in
# turn (``hold_codes``): any number, the same in every process.
CODES_LOCK = 5_261_707_363


class ReportSnapshot(db.Model):
    """The published figures as at one date: one row, and its parts."""

    __tablename__ = "report_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.date] = mapped_column(unique=True)
    state: Mapped[str] = mapped_column(sa.String(16))  # "building" or "ready"
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[float | None]
    facts: Mapped[str | None] = mapped_column(sa.Text)  # JSON: settings, periods, ...


class ReportPart(db.Model):
    """The figures of one family of areas for one period and group of people."""

    __tablename__ = "report_parts"

    snapshot_id: Mapped[int] = mapped_column(
        sa.ForeignKey("report_snapshots.id", ondelete="CASCADE"), primary_key=True
    )
    family: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    slice: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    data: Mapped[str] = mapped_column(sa.Text)


@dataclass(frozen=True)
class Snapshot:
    """A ready snapshot's facts, read once (the parts are read when needed)."""

    id: int
    as_of: dt.date
    finished_at: dt.datetime | None
    settings: dict[str, int]
    periods: dict[str, dict[str, Any]]
    reasons: dict[str, dict[str, Any]]
    ongoing: dict[str, dict[str, Any]]

    def part(self, family: str, period: str, group: str = "all") -> dict[str, dict[str, Any]]:
        stamp = self.finished_at.isoformat() if self.finished_at else ""
        return _part(self.id, stamp, family, period, group)

    def period(self, code: str) -> dict[str, Any] | None:
        return self.periods.get(code)


def _store(session: Session, row: ReportSnapshot, published: Published, seconds: float) -> None:
    # The codes are read again once no new code can be saved until these figures are
    # committed: one saved before is followed here, one saved after finds them stored.
    hold_codes(session)
    _follow_new_codes(session, published)
    session.execute(sa.delete(ReportPart).where(ReportPart.snapshot_id == row.id))
    rows = [
        {
            "snapshot_id": row.id,
            "family": family,
            "period": period,
            "slice": group,
            "data": json.dumps(entries, separators=(",", ":")),
        }
        for (family, period, group), entries in published.parts.items()
    ]
    if rows:
        session.execute(sa.insert(ReportPart), rows)
    row.facts = json.dumps(
        {
            "settings": published.settings,
            "periods": published.periods,
            "reasons": {f"{k}|{p}": v for (k, p), v in published.reasons.items()},
            "ongoing": published.ongoing,
            "unprotected": published.unprotected,
            "digests": published.digests,
        },
        separators=(",", ":"),
    )
    row.state = "ready"
    row.finished_at = utcnow()
    row.seconds = round(seconds, 2)


def rebuild(session: Session, settings: Settings) -> Snapshot:
    """Work out the figures as at ``settings.as_of`` now, replacing any kept for that day.

    The day's kept figures are replaced in one transaction, which holds the codes' lock
    (``hold_codes``) from the start: a new code saved meanwhile waits for it, rather than
    waiting on the parts being replaced while this waits on the lock."""
    _refresh_summaries(session, settings)
    hold_codes(session)
    session.execute(sa.delete(ReportSnapshot).where(ReportSnapshot.as_of == settings.as_of))
    row = ReportSnapshot(as_of=settings.as_of, state="building")
    session.add(row)
    session.flush()
    started = time.perf_counter()
    published = build(session, settings, _earlier(session, settings.as_of))
    _store(session, row, published, time.perf_counter() - started)
    _prune(session, settings.as_of)
    session.commit()
    return _snapshot(row)


def _earlier(session: Session, as_of: dt.date) -> Earlier | None:
    """The figures kept for the latest day before ``as_of``, as ``build`` protects a
    day's figures together with them (None if there are none)."""
    row = session.execute(
        sa.select(ReportSnapshot.id, ReportSnapshot.facts)
        .where(ReportSnapshot.state == "ready", ReportSnapshot.as_of < as_of)
        .order_by(ReportSnapshot.as_of.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    facts = json.loads(row.facts or "{}")
    stored = {
        (family, period, group): data
        for family, period, group, data in session.execute(
            sa.select(
                ReportPart.family, ReportPart.period, ReportPart.slice, ReportPart.data
            ).where(ReportPart.snapshot_id == row.id)
        )
    }

    @cache  # read for a family's referral and contact figures alike
    def part(family: str, period: str, group: str) -> dict[str, dict[str, Any]]:
        data = stored.get((family, period, group))
        return json.loads(data) if data else {}

    # A day kept by an earlier release has no digests: ``build`` compares its figures.
    return Earlier(facts.get("settings", {}), facts.get("digests", {}), part)


def current(session: Session, settings: Settings, *, wait: float = 30.0) -> Snapshot:
    """The snapshot for ``settings.as_of``, building it if nobody has yet. While another
    process builds it, wait up to ``wait`` seconds, then use the latest ready one."""
    ready = _ready(session, settings.as_of)
    if ready is not None:
        return ready
    deadline = time.monotonic() + wait
    while True:
        row = session.scalar(_today(), {"as_of": settings.as_of})
        if row is not None and row.state == "ready":
            return _kept(row)
        if row is None or utcnow() - row.started_at > STALE_BUILD:
            _refresh_summaries(session, settings)
            claimed = _claim(session, settings.as_of, row)
            if claimed is not None:
                started = time.perf_counter()
                try:
                    published = build(session, settings, _earlier(session, settings.as_of))
                    _store(session, claimed, published, time.perf_counter() - started)
                    _prune(session, settings.as_of)
                    session.commit()
                except BaseException:
                    session.rollback()
                    session.execute(
                        sa.delete(ReportSnapshot).where(ReportSnapshot.id == claimed.id)
                    )
                    session.commit()
                    raise
                return _snapshot(claimed)
        if time.monotonic() > deadline:
            latest = latest_ready(session, before=settings.as_of)
            if latest is not None:
                return latest
        session.rollback()
        time.sleep(0.5)


@lru_cache(maxsize=1)
def _today() -> sa.Select:
    """The day's row without its facts: they are read and parsed once per process
    (``_kept``). Built at its first use, not on import: ``defer`` sets up every mapper,
    and on import the models of the packages imported later are not there yet."""
    return (
        sa.select(ReportSnapshot)
        .options(defer(ReportSnapshot.facts))
        .where(ReportSnapshot.as_of == sa.bindparam("as_of"))
    )


_KEPT: dict[tuple[int, dt.datetime | None], Snapshot] = {}


@lru_cache(maxsize=1)
def _today_row() -> sa.Select:
    return sa.select(ReportSnapshot.id, ReportSnapshot.finished_at, ReportSnapshot.state).where(
        ReportSnapshot.as_of == sa.bindparam("as_of")
    )


def _ready(session: Session, as_of: dt.date) -> Snapshot | None:
    """The day's snapshot if it is ready, else None; the way every page but the first of
    the day finds it, so read as a plain row (none of the ORM's work on an object), its
    facts taken from those parsed before when they are kept (``_kept``)."""
    row = session.connection().execute(_today_row(), {"as_of": as_of}).first()
    if row is None or row.state != "ready":
        return None
    found = _KEPT.get((row.id, row.finished_at))
    if found is not None:
        return found
    kept = session.get(ReportSnapshot, row.id)  # its facts, as the day's first page reads them
    return _kept(kept) if kept is not None else None  # None: rebuilt meanwhile


def _kept(row: ReportSnapshot) -> Snapshot:
    """A ready snapshot's facts, parsed once: a stored snapshot never changes, and its id
    with the time it was finished tells a rebuilt day's from the one it replaced (so every
    process sees the same figures, however many there are)."""
    key = (row.id, row.finished_at)
    found = _KEPT.get(key)
    if found is None:
        found = _snapshot(row)  # reads the deferred facts
        if len(_KEPT) >= 8:
            _KEPT.pop(next(iter(_KEPT)), None)
        _KEPT[key] = found
    return found


def _refresh_summaries(session: Session, settings: Settings) -> None:
    """Bring the summary tables (referrals' and contacts') up to date in a short
    transaction of their own, before the (longer) build reads them."""
    refresh(session, settings.engagement_days, settings.treatment_days)
    refresh_contacts(session)
    session.commit()


def _claim(session: Session, as_of: dt.date, stale: ReportSnapshot | None):
    try:
        if stale is not None:
            session.delete(stale)
            session.flush()
        row = ReportSnapshot(as_of=as_of, state="building")
        session.add(row)
        session.commit()
        return row
    except IntegrityError:
        session.rollback()
        return None


def latest_ready(session: Session, before: dt.date | None = None) -> Snapshot | None:
    query = sa.select(ReportSnapshot).where(ReportSnapshot.state == "ready")
    if before is not None:
        query = query.where(ReportSnapshot.as_of <= before)
    row = session.scalar(query.order_by(ReportSnapshot.as_of.desc()).limit(1))
    return _snapshot(row) if row is not None else None


def stored(session: Session, as_of: dt.date) -> Snapshot | None:
    """A kept snapshot of a past day, for showing a report again as it was."""
    row = session.scalar(
        sa.select(ReportSnapshot).where(
            ReportSnapshot.as_of == as_of, ReportSnapshot.state == "ready"
        )
    )
    return _snapshot(row) if row is not None else None


def kept_days(session: Session) -> list[dt.date]:
    return list(
        session.scalars(
            sa.select(ReportSnapshot.as_of)
            .where(ReportSnapshot.state == "ready")
            .order_by(ReportSnapshot.as_of.desc())
        )
    )


def _prune(session: Session, today: dt.date) -> None:
    """Keep 40 days, and the first kept day of each month before that."""
    rows = session.execute(
        sa.select(ReportSnapshot.id, ReportSnapshot.as_of).where(
            ReportSnapshot.as_of < today - dt.timedelta(days=KEEP_DAYS)
        )
    ).all()
    first_of_month: dict[tuple[int, int], tuple[dt.date, int]] = {}
    for sid, day in rows:
        key = (day.year, day.month)
        if key not in first_of_month or day < first_of_month[key][0]:
            first_of_month[key] = (day, sid)
    keep = {sid for _, sid in first_of_month.values()}
    doomed = [sid for sid, _ in rows if sid not in keep]
    if doomed:
        session.execute(sa.delete(ReportPart).where(ReportPart.snapshot_id.in_(doomed)))
        session.execute(sa.delete(ReportSnapshot).where(ReportSnapshot.id.in_(doomed)))


FAMILY_OF = {"scheme": "suite"}  # the family of parts a grouping's figures are in; else "area"


def _follow_new_codes(session: Session, published: Published) -> None:
    """Key the figures of an area or scheme given a new code while they were worked out
    (an administrator's save that ``rename_in_kept`` could not reach, as they were not
    stored yet) by its new code."""
    if not published.codes:
        return
    now = code_names(session)
    for (grouping, ident), old in published.codes.items():
        new = now.get((grouping, ident))
        if new is None or new == old:
            continue
        family = FAMILY_OF.get(grouping, "area")
        old_key, new_key = f"{grouping}:{old}", f"{grouping}:{new}"
        for key, entries in published.parts.items():
            if key[0] == family:
                published.parts[key] = _renamed(entries, old_key, new_key) or entries


def _renamed(entries: dict, old_key: str, new_key: str) -> dict | None:
    """``entries`` with ``old_key`` named ``new_key`` in its place; None when there is no
    ``old_key`` or already a ``new_key`` (another area's that had the code before)."""
    if old_key not in entries or new_key in entries:
        return None
    return {new_key if key == old_key else key: value for key, value in entries.items()}


def hold_codes(session: Session) -> None:
    """Wait until no other transaction is storing a day's figures or giving an area or
    scheme a new code, and make others wait until this one ends. The day's figures are
    keyed by code and a new code moves those kept (``rename_in_kept``): without this, a
    code saved between the build's reading of the codes and its commit would leave that
    day's figures under the old one.

    On PostgreSQL, an advisory lock held to the end of the transaction. On SQLite, where
    one transaction at a time writes, the write lock, taken by an update of no row (and
    reads after it see every earlier commit)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(CODES_LOCK)))
    else:
        session.execute(
            sa.update(ReportSnapshot).where(sa.false()).values(state=ReportSnapshot.state)
        )


def rename_in_kept(session: Session, grouping: str, old: str, new: str) -> int:
    """Give an area's (or a scheme's) kept figures its new code. The figures of the area
    that ``grouping`` (council, adp, police_division, health_board or scheme; its family
    of parts is ``FAMILY_OF``'s) and ``old`` name are stored under
    ``<grouping>:<code>``, so one given a new code would otherwise show no figures until
    the next day's were worked out, nor on any day before. Each snapshot changed is
    marked as finished now, so that every process reads its parts again. A part that
    already holds figures under the new code (another area's, that had it before) keeps
    both as they are. Returns how many parts changed; the caller commits, and until then
    no day's figures are stored (``hold_codes``)."""
    hold_codes(session)
    family = FAMILY_OF.get(grouping, "area")
    old_key, new_key = f"{grouping}:{old}", f"{grouping}:{new}"
    # The parts are compact JSON objects keyed by area, so a key is written this way.
    written = json.dumps(old_key) + ":"
    part = ReportPart
    found = session.execute(
        sa.select(part.snapshot_id, part.period, part.slice, part.data).where(
            part.family == family, part.data.contains(written, autoescape=True)
        )
    ).all()
    changed: set[int] = set()
    renamed_parts = 0
    for snapshot_id, period, group, data in found:
        renamed = _renamed(json.loads(data), old_key, new_key)
        if renamed is None:
            continue
        session.execute(
            sa.update(part)
            .where(
                part.snapshot_id == snapshot_id,
                part.family == family,
                part.period == period,
                part.slice == group,
            )
            .values(data=json.dumps(renamed, separators=(",", ":")))
        )
        changed.add(snapshot_id)
        renamed_parts += 1
    if changed:
        session.execute(
            sa.update(ReportSnapshot)
            .where(ReportSnapshot.id.in_(changed))
            .values(finished_at=utcnow())
        )
    return renamed_parts


def moved_counts(targets: int, parts: int) -> dict[str, int]:
    """What a new code took with it, as its audit entry records it: the targets and the
    stored parts of published figures (``rename_in_kept``) moved, those that did."""
    counts = {"targets_moved": targets, "published_figures_moved": parts}
    return {key: count for key, count in counts.items() if count}


def _snapshot(row: ReportSnapshot) -> Snapshot:
    facts = json.loads(row.facts or "{}")
    reasons = {}
    for key, value in facts.get("reasons", {}).items():
        kind, _, period = key.partition("|")
        reasons.setdefault(kind, {})[period] = value
    return Snapshot(
        id=row.id,
        as_of=row.as_of,
        finished_at=row.finished_at,
        settings=facts.get("settings", {}),
        periods=facts.get("periods", {}),
        reasons=reasons,
        ongoing=facts.get("ongoing", {}),
    )


@lru_cache(maxsize=512)
def _part(
    snapshot_id: int, stamp: str, family: str, period: str, group: str
) -> dict[str, dict[str, Any]]:
    """One part of a snapshot, kept in memory: a stored snapshot never changes (``stamp``,
    when it was finished, tells a rebuilt one from the one it replaced)."""
    data = db.session.scalar(
        sa.select(ReportPart.data).where(
            ReportPart.snapshot_id == snapshot_id,
            ReportPart.family == family,
            ReportPart.period == period,
            ReportPart.slice == group,
        )
    )
    return json.loads(data) if data else {}
