"""Report benchmark for custody contacts: the day's figures and the area table.

At 3,000,000 contacts and 1,000,000 referrals by default.

    .venv/bin/python bench/contacts.py [--referrals 1000000] [--contacts 3000000]
        [--small] [--database-url URL]

``--small`` runs it at 20,000 referrals and 60,000 contacts, to try the benchmark itself.
The referrals and contacts are written in bulk (``executemany`` in batches of 50,000 on
SQLite, with the summary triggers off for the load and every day marked once at the end;
``COPY`` on PostgreSQL) and the time it took is printed. In one run, prints:
- F0c, the floor: a bare ``SELECT council_area_id, COUNT(*) FROM custody_contacts ...
  GROUP BY council_area_id`` over the latest 12 months of contacts (the plainest query that
  counts the area table's contacts column), the median of several runs;
- the contact summary added up from every contact (once, after the bulk load), and again
  for one day changed (as each day's first report does);
- the contact part of the day's figures: the contact units of each family (council areas
  of residence; custody suites with their schemes) read from the summary alone, then with
  the units' protection, in seconds and as a multiple of F0c;
- the whole day's figures (referrals and contacts, every family), worked out and stored;
- the area table (council areas, custody suites, schemes) and its CSV after that: the
  median of several requests, and its ratio to F0c. Target: the area table under 1 s.
Times vary threefold on a shared machine; read the ratios.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.clock import today_local
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.reports import contact_summaries, figures
from referrals.reports.contact_measures import CONTACT_KEYS
from referrals.reports.contact_summaries import contact_unit_rows
from referrals.reports.measures import Window, first_month
from referrals.reports.params import settings
from referrals.reports.periods import Offer
from referrals.reports.snapshot import rebuild
from referrals.seed.referral_generator import generate_referrals

RUNS = 5
SMALL = (20_000, 60_000)
TARGET_SECONDS = 1.0
PAGES = [
    ("area table, council areas", "/reports/areas?group=council&measure=offer_rate"),
    ("area table, custody suites", "/reports/areas?group=custody_suite&measure=offer_rate"),
    ("area table, schemes", "/reports/areas?group=scheme&measure=referral_success_rate"),
    ("area CSV, council areas", "/reports/areas.csv?group=council"),
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
    c = CustodyContact
    latest = session.scalar(sa.select(sa.func.max(c.contact_on)))
    start = latest.replace(year=latest.year - 1)
    query = (
        sa.select(c.council_area_id, sa.func.count())
        .where(c.contact_on > start)
        .group_by(c.council_area_id)
    )
    return median_time(lambda: session.execute(query).all())


def summary_times(session) -> tuple[float, float]:
    """Seconds to add up the contact summary from every contact, and to add up one
    changed day again."""
    started = time.perf_counter()
    contact_summaries.refresh(session, everything=True)
    session.commit()
    everything = time.perf_counter() - started
    c = CustodyContact
    session.execute(
        sa.update(c)
        .where(c.id == session.scalar(sa.select(sa.func.max(c.id))))
        .values(age_band="45_54")
    )
    session.commit()
    started = time.perf_counter()
    done = contact_summaries.refresh(session)
    session.commit()
    if done.everything or done.days < 1:
        raise SystemExit(f"one changed day was added up as {done}")
    return everything, time.perf_counter() - started


def contact_part(session, config) -> tuple[float, float]:
    """Seconds for the contact units' GROUP BYs alone, and for the whole contact part of
    the day's work (the GROUP BYs again, and the protection), over both families."""
    window = Window(last=Offer(0, config.as_of).last_month)
    periods = figures.Periods(Offer(first_month(session), config.as_of), config)
    kinds = [f for f in figures.families(session) if f.name in CONTACT_KEYS]
    started = time.perf_counter()
    for family in kinds:
        units = defaultdict(dict)
        for key, month, combo, profile, n in contact_unit_rows(
            session, CONTACT_KEYS[family.name], window
        ):
            held = units[(key, month, combo)]
            held[profile] = held.get(profile, 0) + n
    grouped = time.perf_counter() - started
    started = time.perf_counter()
    for family in kinds:
        figures._protect_contacts(session, family, config, window, periods)
    return grouped, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=3_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--small", action="store_true", help="20,000 referrals and 60,000 contacts"
    )
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp")
    args = parser.parse_args()
    if args.small:
        args.referrals, args.contacts = SMALL
    app, folder = bench_app(args.database_url)
    prepare(app)
    with app.app_context():
        started = time.perf_counter()
        result = generate_referrals(
            db.session, args.referrals, args.seed, dt.date.today(), contacts=args.contacts
        )
        db.session.commit()
        print(
            f"{result.referrals:,} referrals and {result.contacts:,} contacts generated in "
            f"{time.perf_counter() - started:.0f} s"
        )
        backend = db.engine.dialect.name
        if backend == "postgresql":  # as autovacuum would, after a load this size
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")
        config = settings(today_local())
        f0 = floor(db.session)
        summed, one_day = summary_times(db.session)
        grouped, whole = contact_part(db.session, config)
        started = time.perf_counter()
        rebuild(db.session, config)
        build = time.perf_counter() - started
    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False  # sign in as the demo area lead, by the form
    signed_in = client.post(
        "/login", data={"email": "lead@demo.test", "password": "demo-password"}
    )
    if signed_in.status_code != 302:
        raise SystemExit(f"signing in as the demo lead answered {signed_in.status_code}")
    rows = [
        ("F0c: bare COUNT(*) GROUP BY council, contacts, 12 months", f0),
        ("contact summary: every day added up (after the load)", summed),
        ("contact summary: one changed day added up again", one_day),
        ("contact units: GROUP BY of both families", grouped),
        ("contact figures: GROUP BY and protection (both families)", whole),
        ("the day's figures (referrals and contacts), stored", build),
    ]
    pages = []
    for name, url in PAGES:
        seconds = median_time(lambda url=url: _get(client, url))
        rows.append((name, seconds))
        pages.append(seconds)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nbackend: {backend}; {result.referrals:,} referrals, {result.contacts:,} contacts")
    print(f"{'what':<58} {'ms':>10}  {'x F0c':>8}")
    for name, seconds in rows:
        print(f"{name:<58} {1000 * seconds:>10.1f}  {seconds / f0:>8.2f}")
    verdict = "met" if max(pages) < TARGET_SECONDS else "MISSED"
    print(f"target: every area table page under {TARGET_SECONDS:.0f} s: {verdict}")
    return 0


def _get(client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")


if __name__ == "__main__":
    sys.exit(main())
