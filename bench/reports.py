"""Report benchmarks: the day's figures worked out once, then every aggregate page.

    .venv/bin/python bench/reports.py [--referrals 100000 1000000 3000000]
        [--database-url URL]

For each size, in one run on this machine, prints:
- F0, the floor: a bare ``SELECT council_area_id, COUNT(*) FROM referrals WHERE referred_on
  in the 12 months the pages show by default GROUP BY council_area_id``, the median of
  several runs;
- the summary tables (referrals added up per day) built from every referral, and the
  day's figures (every family, period and group of people) worked out, protected and
  stored from them;
- a day of status changes (as many referrals accepted, attending or starting treatment as
  are made in three days, among those made in the last 120 days), then the incremental
  refresh of the summary tables for the days those referrals were made on, and the day's
  figures worked out again;
- every aggregate page and export (Scotland page, area table for each geography, map page
  and its frame, funnel plot, trends, quarterly report, area CSV): the median time of
  several requests, and its ratio to F0. Target: each at or below 1x F0 at 1,000,000
  referrals and more, and under 500 ms at 3,000,000.
With ``--database-url`` (PostgreSQL) the database is emptied before each size. Times vary
threefold on a shared machine; read the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.choices import ReferralStatus, Role
from referrals.clock import today_local
from referrals.database import reset_schema
from referrals.extensions import db
from referrals.models import Referral, User
from referrals.reports.params import settings
from referrals.reports.snapshot import latest_ready, rebuild
from referrals.reports.summaries import refresh
from referrals.seed.bulk import reset_sequence
from referrals.seed.demo import DEMO_PASSWORD

RUNS = 5
# Larger sizes are made from this one by copying its referrals (generating 3,000,000
# afresh takes over an hour on a shared machine).
GROW_FROM = 1_000_000
PAGES = [
    ("Scotland page", "/reports/"),
    ("area table, council areas", "/reports/areas?group=council"),
    ("area table, ADPs", "/reports/areas?group=adp"),
    ("area table, police divisions", "/reports/areas?group=police_division"),
    ("area table, health boards", "/reports/areas?group=health_board"),
    ("area CSV", "/reports/areas.csv?group=council"),
    ("map page", "/reports/map?measure=engagement_rate"),
    ("map frame", "/reports/map/frame?measure=engagement_rate"),
    ("funnel plot", "/reports/funnel?measure=engagement_rate"),
    ("trends", "/reports/trends?group=police_division"),
    ("quarterly report", "/reports/quarterly"),
]


def median_time(function, runs: int = RUNS) -> float:
    function()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def floor(session, snapshot) -> float:
    period = snapshot.periods[snapshot.settings["latest"]]
    start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    query = (
        sa.select(Referral.council_area_id, sa.func.count())
        .where(Referral.referred_on.between(start, end))
        .group_by(Referral.council_area_id)
    )
    return median_time(lambda: session.execute(query).all())


def a_day_of_changes(session, size: int, as_of: dt.date) -> tuple[int, int]:
    """Move referrals made in the last 120 days one stage on, as many as are made in three
    days; return (referrals changed, days they were made on)."""
    wanted = max(1, 3 * size // 730)
    since = as_of - dt.timedelta(days=120)
    rows = session.execute(
        sa.select(Referral.id, Referral.referred_on, Referral.status)
        .where(
            Referral.referred_on >= since,
            Referral.status.in_(
                [ReferralStatus.MADE, ReferralStatus.ACCEPTED, ReferralStatus.ENGAGED]
            ),
        )
        .order_by(Referral.id)
    ).all()
    chosen = random.Random(size).sample(rows, min(wanted, len(rows)))
    r = Referral
    for status, values in (
        (ReferralStatus.MADE, {"status": ReferralStatus.ACCEPTED, "accepted_on": as_of}),
        (
            ReferralStatus.ACCEPTED,
            {
                "status": ReferralStatus.ENGAGED,
                "engaged_on": as_of,
                "days_to_engagement": sa.func.coalesce(r.days_to_engagement, 0) + 1,
            },
        ),
        (
            ReferralStatus.ENGAGED,
            {
                "status": ReferralStatus.TREATMENT_STARTED,
                "treatment_started_on": as_of,
                "days_to_treatment": sa.func.coalesce(r.days_to_engagement, 0) + 3,
            },
        ),
    ):
        ids = [i for i, _, s in chosen if s == status]
        for at in range(0, len(ids), 500):
            session.execute(sa.update(r).where(r.id.in_(ids[at : at + 500])).values(**values))
    session.commit()
    return len(chosen), len({day for _, day, _ in chosen})


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def once_a_day(app, size: int) -> tuple[list[tuple[str, float]], float]:
    """The work done once a day and on changes, timed; and F0."""
    as_of = today_local()
    windows = (app.config["ENGAGEMENT_WINDOW_DAYS"], app.config["TREATMENT_WINDOW_DAYS"])
    session = db.session
    if db.engine.dialect.name == "postgresql":
        session.commit()
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                sa.text("VACUUM ANALYZE")
            )

    def summaries(everything: bool) -> None:
        refresh(session, *windows, everything=everything)
        session.commit()

    full = timed(lambda: summaries(True))
    build = timed(lambda: rebuild(session, settings(as_of)))
    f0 = floor(session, latest_ready(session))
    changed, days = a_day_of_changes(session, size, as_of)
    incremental = timed(lambda: summaries(False))
    again = timed(lambda: rebuild(session, settings(as_of)))
    once = f"{changed:,} referrals on {days} days"
    return [
        ("F0: bare COUNT(*) GROUP BY council, 12 months", f0),
        ("summary tables built from every referral", full),
        ("the day's figures, worked out and stored", build),
        (f"summaries after a day of changes ({once})", incremental),
        ("the day's figures again, after those changes", again),
    ], f0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--grow-from",
        type=int,
        default=GROW_FROM,
        help="make sizes above this one by copying its referrals (default 1,000,000)",
    )
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp per size")
    args = parser.parse_args()
    rows = []
    app = folder = None
    made = 0
    for size in sorted(args.referrals):
        started = time.perf_counter()
        if made >= args.grow_from and size > made:
            with app.app_context():
                grow(db.session, size)
            print(f"{size:,} referrals made by copying in {time.perf_counter() - started:.0f} s")
        else:
            _discard(app, folder)
            if args.database_url:
                reset_schema(args.database_url)
            app, folder = bench_app(args.database_url)
            prepare(app, referrals=size, seed=args.seed)
            print(f"{size:,} referrals generated in {time.perf_counter() - started:.0f} s")
        made = size
        with app.app_context():
            backend = db.engine.dialect.name
            daily, f0 = once_a_day(app, size)
            lead = db.session.scalar(sa.select(User.email).where(User.role == Role.LEAD))
        client = app.test_client()
        app.config.update(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        answer = client.post("/login", data={"email": lead, "password": DEMO_PASSWORD})
        if answer.status_code != 302 or "/login" in answer.location:
            raise SystemExit(f"the demo area lead could not sign in ({answer.status_code})")
        for name, seconds in daily:
            rows.append((size, backend, name, seconds, seconds / f0))
        for name, url in PAGES:
            seconds = median_time(lambda url=url, client=client: _get(client, url))
            rows.append((size, backend, name, seconds, seconds / f0))
        _print(rows)
    _discard(app, folder)
    return 0


def _discard(app, folder) -> None:
    if app is not None:
        with app.app_context():
            db.engine.dispose()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def grow(session, size: int) -> None:
    """Copy referrals already made (same days, areas, people and stages, new ids and
    references) until there are ``size``: quicker than generating them afresh, and the
    report queries cost the same."""
    table = Referral.__table__
    postgres = session.get_bind().dialect.name == "postgresql"
    have = session.scalar(sa.select(sa.func.count()).select_from(table))
    top = session.scalar(sa.select(sa.func.max(table.c.id)))
    r = table.c
    while have < size:
        offset = session.scalar(sa.select(sa.func.max(r.id)))
        new_id = r.id + offset
        fresh = {
            "id": new_id,
            "uuid": sa.func.gen_random_uuid()
            if postgres
            else sa.func.lower(sa.func.hex(sa.func.randomblob(16))),
            "reference": sa.literal("C") + sa.cast(new_id, sa.String),
            "form_token": sa.null(),
            "referred_from_id": sa.null(),
            "possible_duplicate_of_id": sa.null(),
        }
        columns = [c.name for c in table.columns]
        copy = sa.select(*(fresh.get(name, r[name]) for name in columns)).where(
            r.id <= top, r.id <= sa.select(sa.func.min(r.id)).scalar_subquery() + size - have - 1
        )
        session.execute(sa.insert(table).from_select(columns, copy))
        session.commit()
        have = session.scalar(sa.select(sa.func.count()).select_from(table))
    reset_sequence(session.connection(), table)
    session.commit()


def _print(rows) -> None:
    print(f"\n{'referrals':>10}  {'database':<10}  {'what':<62} {'ms':>9}  {'x F0':>7}")
    for size, backend, name, seconds, ratio in rows:
        print(f"{size:>10,}  {backend:<10}  {name:<62} {1000 * seconds:>9.1f}  {ratio:>7.2f}")
    print(flush=True)


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


if __name__ == "__main__":
    sys.exit(main())
