"""How long the demo generator takes to write referrals with their lifecycle events.

    .venv/bin/python bench/seed_referrals.py [--referrals 1000000] [--database-url URL]

Target: 1,000,000 referrals with events in under 2 minutes on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.extensions import db
from referrals.seed.referral_generator import generate_referrals

TARGET_SECONDS = 120


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp")
    args = parser.parse_args()

    app, folder = bench_app(args.database_url)
    prepare(app)
    with app.app_context():
        started = time.perf_counter()
        result = generate_referrals(db.session, args.referrals, args.seed, dt.date.today())
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
    print(f"time: {elapsed:.1f} s ({rate:,.0f} referrals/s)")
    verdict = "met" if elapsed < TARGET_SECONDS or args.referrals < 1_000_000 else "MISSED"
    print(f"target: 1,000,000 referrals in under {TARGET_SECONDS} s: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
