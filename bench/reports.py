"""Report benchmarks: the day's figures worked out once, then every aggregate page.

    .venv/bin/python bench/reports.py [--referrals 100000 1000000] [--database-url URL]

For each size, in one run on this machine, prints:
- F0, the floor: a bare ``SELECT council_area_id, COUNT(*) ... GROUP BY council_area_id``
  over the latest 12 months of referrals (the plainest query that counts the area table's
  first column), the median of several runs;
- the once-a-day work: every published figure of every family, period and group of people
  worked out and protected, and stored (seconds, and as a multiple of F0);
- every aggregate page and export after that (Scotland page, area table for each
  geography, map page and its frame, funnel plot, trends, quarterly report, area CSV):
  the median time of several requests, and its ratio to F0. Target: each at or below
  1x F0 at 1,000,000 referrals and more, and under 500 ms.
Times vary threefold on a shared machine; read the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.clock import today_local
from referrals.extensions import db
from referrals.models import Referral, User
from referrals.reports.params import settings
from referrals.reports.snapshot import rebuild

RUNS = 5
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


def floor(session) -> float:
    latest = session.scalar(sa.select(sa.func.max(Referral.referred_on)))
    start = latest.replace(year=latest.year - 1)
    query = (
        sa.select(Referral.council_area_id, sa.func.count())
        .where(Referral.referred_on > start)
        .group_by(Referral.council_area_id)
    )
    return median_time(lambda: session.execute(query).all())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp per size")
    args = parser.parse_args()
    rows = []
    for size in args.referrals:
        app, folder = bench_app(args.database_url)
        started = time.perf_counter()
        prepare(app, referrals=size, seed=args.seed)
        print(f"{size:,} referrals generated in {time.perf_counter() - started:.0f} s")
        with app.app_context():
            backend = db.engine.dialect.name
            f0 = floor(db.session)
            started = time.perf_counter()
            rebuild(db.session, settings(today_local()))
            build = time.perf_counter() - started
            lead = db.session.scalar(sa.select(User).where(User.email == "lead@demo.test"))
        client = app.test_client()
        with client.session_transaction() as web:
            web["_user_id"] = lead.get_id()
            web["_fresh"] = True
        rows.append((size, backend, "F0: bare COUNT(*) GROUP BY council, 12 months", f0, 1.0))
        rows.append((size, backend, "the day's figures, worked out and stored", build, build / f0))
        for name, url in PAGES:
            seconds = median_time(lambda url=url, client=client: _get(client, url))
            rows.append((size, backend, name, seconds, seconds / f0))
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{'referrals':>10}  {'database':<10}  {'what':<48} {'ms':>9}  {'x F0':>7}")
    for size, backend, name, seconds, ratio in rows:
        print(f"{size:>10,}  {backend:<10}  {name:<48} {1000 * seconds:>9.1f}  {ratio:>7.2f}")
    return 0


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


if __name__ == "__main__":
    sys.exit(main())
