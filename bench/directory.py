"""Directory benchmarks: nearest-service search over 10,000 services, the services map
for 5,000 services, and the full-postcode import rate.

    .venv/bin/python bench/directory.py [--services 10000] [--map-services 5000]
                                        [--postcodes 1800000] [--database-url URL]

Targets: search p50 under 30 ms; map page under 1.5 MB built in under 300 ms;
1.8 million postcodes imported in under 3 minutes with flat memory.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.clock import now_local
from referrals.directory.access import PUBLIC
from referrals.directory.postcode_import import import_postcodes
from referrals.directory.search import Filters, search_services
from referrals.extensions import db
from referrals.models import (
    Location,
    OpeningHours,
    Place,
    Service,
    service_areas,
    service_type_links,
)
from referrals.seed.bulk import bulk_insert


def grow_directory(target: int) -> int:
    """Copy the demo services, jittered around real towns, until there are ``target``."""
    session = db.session
    rng = random.Random(7)
    templates = session.execute(sa.select(Service.__table__).order_by(Service.id)).mappings().all()
    places = session.execute(
        sa.select(Place.latitude, Place.longitude, Place.council_area_id, Place.population)
    ).all()
    weights = [max(p.population or 500, 500) ** 0.7 for p in places]
    have = len(templates)
    next_id = (session.scalar(sa.select(sa.func.max(Service.id))) or 0) + 1
    services, locations, links, areas, hours = [], [], [], [], []
    stamp = dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")
    if session.connection().dialect.name == "postgresql":
        stamp += "+00"
    for i in range(target - have):
        template = templates[i % have]
        place = rng.choices(places, weights)[0]
        sid = next_id + i
        row = dict(template)
        row.update(
            id=sid,
            external_id=f"bench-{sid}",
            name=f"{template['name']} #{sid}",
            created_at=stamp,
            updated_at=stamp,
            last_verified_by_id=None,
            last_verified_on=str(template["last_verified_on"]),
        )
        services.append(tuple(row.values()))
        locations.append(
            (
                sid,
                "1 Bench Street",
                "Benchtown",
                "G1 1AA",
                place.latitude + rng.uniform(-0.02, 0.02),
                place.longitude + rng.uniform(-0.03, 0.03),
                place.council_area_id,
            )
        )
        links.append((sid, template["primary_type_id"]))
        areas.append((sid, place.council_area_id))
        hours += [(sid, d, "09:00:00", "17:00:00") for d in range(5)]
    connection = session.connection()
    bulk_insert(connection, Service.__table__, list(templates[0].keys()), services)
    bulk_insert(
        connection,
        Location.__table__,
        [
            "service_id",
            "address_1",
            "town",
            "postcode",
            "latitude",
            "longitude",
            "council_area_id",
        ],
        locations,
    )
    bulk_insert(connection, service_type_links, ["service_id", "service_type_id"], links)
    bulk_insert(connection, service_areas, ["service_id", "council_area_id"], areas)
    bulk_insert(
        connection, OpeningHours.__table__, ["service_id", "weekday", "opens", "closes"], hours
    )
    session.commit()
    return session.scalar(sa.select(sa.func.count()).select_from(Service))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_search(app, runs: int = 200) -> None:
    with app.test_request_context():
        places = db.session.execute(sa.select(Place.latitude, Place.longitude)).all()
        rng = random.Random(3)
        filter_sets = [
            Filters(),
            Filters(types=["ost"]),
            Filters(custody=True, same_day=True),
            Filters(open_now=True),
            Filters(radius_km=50),
            Filters(age=30),
        ]
        timings = []
        for i in range(runs):
            lat, lon = rng.choice(places)
            started = time.perf_counter()
            search_services(
                db.session,
                lat,
                lon,
                filter_sets[i % len(filter_sets)],
                now_local=now_local(),
                viewer=PUBLIC,
                page=1,
            )
            timings.append((time.perf_counter() - started) * 1000)
            db.session.rollback()
    p50, p95 = percentile(timings, 50), percentile(timings, 95)
    print(
        f"search: {runs} searches, p50 {p50:.1f} ms, p95 {p95:.1f} ms "
        f"(target p50 < 30 ms: {'met' if p50 < 30 else 'MISSED'})"
    )


def bench_map(app, runs: int = 10) -> None:
    client = app.test_client()
    client.get("/map/frame")  # warm up
    timings, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/map/frame")
        timings.append((time.perf_counter() - started) * 1000)
        size = len(response.data)
    p50 = percentile(timings, 50)
    ok = size < 1.5e6 and p50 < 300
    print(
        f"map: {size / 1e6:.2f} MB, built in {p50:.0f} ms (median of {runs}) "
        f"(target < 1.5 MB and < 300 ms: {'met' if ok else 'MISSED'})"
    )


def bench_postcodes(app, rows: int, folder: Path) -> None:
    path = folder / "onspd.csv"
    rng = random.Random(5)
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["pcd", "pcds", "doterm", "laua", "lat", "long"])
        for i in range(rows):
            district = f"G{i % 90 + 1}"
            inward = f"{i // 8000 % 10}{letters[i // 400 % 20]}{letters[i // 20 % 20]}"
            postcode = f"{district} {inward}"
            writer.writerow(
                [
                    postcode,
                    postcode,
                    "",
                    "S12000049",
                    f"{55.8 + rng.random() / 5:.6f}",
                    f"{-4.3 + rng.random() / 5:.6f}",
                ]
            )
    size_mb = path.stat().st_size / 1e6
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with app.app_context():
        started = time.perf_counter()
        with path.open(newline="") as handle:
            report = import_postcodes(db.session.connection(), handle)
        db.session.commit()
        seconds = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"postcodes: {report.read:,} rows ({size_mb:.0f} MB file), {report.loaded:,} loaded "
        f"in {seconds:.0f} s ({report.read / seconds:,.0f} rows/s); peak memory "
        f"{rss_before:.0f} MB before, {rss_after:.0f} MB after "
        f"(target 1.8 million in < 180 s: {'met' if seconds < 180 else 'MISSED'})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--map-services", type=int, default=5_000)
    parser.add_argument("--postcodes", type=int, default=1_800_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    app, folder = bench_app(args.database_url)
    prepare(app)
    work = Path(tempfile.mkdtemp(prefix="referrals-bench-files-"))
    try:
        with app.app_context():
            total = grow_directory(args.map_services)
        print(f"services in the directory: {total:,}")
        bench_map(app)
        with app.app_context():
            total = grow_directory(args.services)
        print(f"services in the directory: {total:,}")
        bench_search(app)
        if args.postcodes:
            bench_postcodes(app, args.postcodes, work)
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(work)
        if folder:
            shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
