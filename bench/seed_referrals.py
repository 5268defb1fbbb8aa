"""How long the demo generator takes to write referrals with their lifecycle events and
the custody contacts they come from (with those not referred).

    .venv/bin/python bench/seed_referrals.py [--referrals 1000000] [--contacts 3000000]
        [--database-url URL]

Target: 1,000,000 referrals with events and 3,000,000 contacts in under 4 minutes on
SQLite. As a floor, the same run first times the database taking as many identical
contact rows by the same bulk path (nothing generated), then deletes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from bench._setup import bench_app, prepare
from referrals.contacts.models import CustodyContact
from referrals.extensions import db
from referrals.models import CustodySuite, User
from referrals.seed.bulk import bulk_insert, bulk_load_mode
from referrals.seed.demo_values import CONTACT_COLUMNS
from referrals.seed.referral_generator import generate_referrals

TARGET_SECONDS = 240


def write_floor(count: int) -> float:
    """Seconds the database takes to bulk-write ``count`` contact rows made by copying one
    row; deleted afterwards, so the generator starts from the same empty table."""
    suite = db.session.scalar(sa.select(CustodySuite).order_by(CustodySuite.id))
    user = db.session.scalar(sa.select(User.id).where(User.custody_suite_id == suite.id))
    connection = db.session.connection()
    stamp = "2026-01-01 10:00:00" + ("+00" if connection.dialect.name == "postgresql" else "")
    row = (suite.id, "2026-01-01", stamp, user, "25_34", "male", None, suite.council_area_id)
    row += (False, "released_before_seen", None, None, None, "not_offered", None, None, 1, stamp)
    table = CustodyContact.__table__
    started = time.perf_counter()
    with bulk_load_mode(connection, [table], drop_indexes=True):
        bulk_insert(connection, table, CONTACT_COLUMNS, itertools.repeat(row, count))
    db.session.commit()
    elapsed = time.perf_counter() - started
    db.session.execute(sa.delete(table))
    db.session.commit()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument(
        "--contacts",
        type=int,
        default=None,
        help="custody contacts in all (default: three for each referral)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp")
    args = parser.parse_args()

    app, folder = bench_app(args.database_url)
    prepare(app)
    with app.app_context():
        contacts = 3 * args.referrals if args.contacts is None else args.contacts
        floor = write_floor(contacts)
        started = time.perf_counter()
        result = generate_referrals(
            db.session, args.referrals, args.seed, dt.date.today(), contacts=contacts
        )
        db.session.commit()
        elapsed = time.perf_counter() - started
        backend = db.engine.dialect.name
        db.engine.dispose()
    if folder:
        shutil.rmtree(folder)
    rate = result.referrals / elapsed if elapsed else 0
    print(f"backend: {backend}")
    print(f"referrals written: {result.referrals:,}")
    print(f"events written: {result.events:,}")
    print(f"custody contacts written: {result.contacts:,}")
    print(f"time: {elapsed:.1f} s ({rate:,.0f} referrals/s)")
    print(f"floor: {floor:.1f} s to write {contacts:,} identical contact rows, not generated")
    verdict = "met" if elapsed < TARGET_SECONDS or args.referrals < 1_000_000 else "MISSED"
    if backend != "sqlite":
        verdict = "not judged (the target is for SQLite; compare with the floor)"
    print(
        f"target: 1,000,000 referrals and 3,000,000 contacts in under {TARGET_SECONDS} s "
        f"on SQLite: {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
