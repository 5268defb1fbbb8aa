"""Report benchmarks over 1,000,000 generated referrals.

    .venv/bin/python bench/reports.py [--referrals 1000000] [--database-url URL]

Prints, for a year of referrals grouped by council area:
- the area table (every measure, waits, intervals, comparison and disclosure control);
  target: under 1 second on SQLite;
- the measures' SQL (counts and waits) beside the same figures from a bare, hand-written
  SQL aggregate, with their ratio; target: within 1.5 times.
Each time is the median of several runs after a warm-up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._setup import bench_app, prepare
from referrals.extensions import db
from referrals.reports.measures import COUNT_FIELDS, Params, grouped_counts
from referrals.reports.tables import area_table

RUNS = 5


def timed(function, runs: int = RUNS) -> tuple[float, object]:
    function()  # warm up: compile statements, fill caches
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bare_sql(dialect: str, params: Params) -> str:
    """The same counts and waits, written by hand for this dialect."""
    as_of = f"DATE '{params.as_of}'" if dialect != "sqlite" else f"'{params.as_of}'"
    mature = params.as_of - dt.timedelta(days=params.engagement_days)
    conv = params.as_of - dt.timedelta(days=params.treatment_days)
    q = "'" if dialect == "sqlite" else "DATE '"
    d = lambda v: f"{q}{v}'"  # noqa: E731
    where = (
        f"referred_on BETWEEN {d(params.start)} AND {d(params.end)} AND referred_on <= "
        f"{d(params.as_of)} AND (close_reason IS NULL OR close_reason != 'entered_in_error')"
    )
    acc = f"accepted_on <= {as_of}"
    eng = f"engaged_on <= {as_of}"
    sta = f"treatment_started_on <= {as_of}"
    ongoing = (
        f"{acc} AND NOT COALESCE({sta}, FALSE) AND (status IN ('accepted', 'engaged') "
        f"OR closed_on > {as_of})"
    )

    def waited(low, high):
        parts = []
        if low is not None:
            parts.append(f"referred_on < {d(params.as_of - dt.timedelta(days=low))}")
        if high is not None:
            parts.append(f"referred_on >= {d(params.as_of - dt.timedelta(days=high))}")
        return " AND ".join(parts)

    def s(cond):
        return f"COUNT(*) FILTER (WHERE {cond})"

    counts = f"""
      SELECT council_area_id AS g, COUNT(*) AS made,
        {s(f"referred_on > {d(mature)}")}, {s(f"referred_on <= {d(mature)}")},
        {s(f"referred_on <= {d(mature)} AND {acc}")},
        {
        s(
            f"referred_on <= {d(mature)} AND {eng} AND days_to_engagement <= "
            f"{params.engagement_days}"
        )
    },
        {s(f"referred_on <= {d(conv)}")},
        {
        s(f"referred_on <= {d(conv)} AND {sta} AND days_to_treatment <= {params.treatment_days}")
    },
        {s(eng)}, {s(f"{eng} AND {sta}")}, {s(sta)},
        {s(f"{sta} AND days_to_treatment <= 21")},
        {s(f"{sta} AND days_to_treatment > 42")},
        {s("naloxone_supplied")}, {s("pathway = 'near_fatal_overdose'")},
        {s(f"declined_on IS NOT NULL AND declined_on <= {as_of}")},
        {s(f"{ongoing} AND {waited(None, 7)}")}, {s(f"{ongoing} AND {waited(7, 21)}")},
        {s(f"{ongoing} AND {waited(21, 42)}")}, {s(f"{ongoing} AND {waited(42, None)}")}
      FROM referrals WHERE {where} GROUP BY council_area_id"""

    def waits(stage, column):
        return f"""
      SELECT g, MAX(n), MIN(CASE WHEN upto >= (n + 1) / 2 THEN d END),
             MIN(CASE WHEN upto >= (n + 2) / 2 THEN d END),
             MIN(CASE WHEN upto >= (9 * n + 9) / 10 THEN d END)
      FROM (SELECT g, d, CAST(SUM(c) OVER (PARTITION BY g ORDER BY d) AS INTEGER) AS upto,
                   CAST(SUM(c) OVER (PARTITION BY g) AS INTEGER) AS n
            FROM (SELECT council_area_id AS g, {column} AS d, COUNT(*) AS c
                  FROM referrals WHERE {where} AND {stage} <= {as_of}
                  GROUP BY 1, 2) AS h) AS r
      GROUP BY g"""

    return (
        f"SELECT * FROM ({counts}) AS counts "
        f"LEFT JOIN ({waits('engaged_on', 'days_to_engagement')}) AS a ON a.g = counts.g "
        f"LEFT JOIN ({waits('treatment_started_on', 'days_to_treatment')}) AS t "
        f"ON t.g = counts.g"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="default: a new SQLite file in /tmp")
    args = parser.parse_args()
    app, folder = bench_app(args.database_url)
    started = time.perf_counter()
    prepare(app, referrals=args.referrals)
    print(f"generated {args.referrals:,} referrals in {time.perf_counter() - started:.0f} s")
    try:
        with app.app_context():
            session = db.session
            dialect = db.engine.dialect.name
            session.execute(sa.text("ANALYZE"))
            session.commit()
            today = dt.date.today()
            params = Params(today - dt.timedelta(days=364), today, today, current=True)
            in_year = session.scalar(
                sa.select(sa.func.count())
                .select_from(sa.table("referrals", sa.column("referred_on")))
                .where(sa.column("referred_on") >= params.start)
            )
            print(f"backend: {dialect}; referrals in the year: {in_year:,}")

            table_time, table = timed(lambda: area_table(session, "council", params, threshold=5))
            print(
                f"area table (council, one year, everything): {table_time * 1000:.0f} ms "
                f"(target < 1000 ms: {'met' if table_time < 1 else 'MISSED'})"
            )

            measures_time, (groups, national) = timed(
                lambda: grouped_counts(session, "council", params)
            )
            sql = bare_sql(dialect, params)
            bare_time, bare_rows = timed(lambda: session.execute(sa.text(sql)).all())
            bare = {row[0]: row for row in bare_rows}
            for key, counts in groups.items():
                row = bare[key]
                assert [counts[f] for f in COUNT_FIELDS] == [int(v) for v in row[1:20]], key
                assert counts.to_treatment.p90 == row[-1], key
            ratio = measures_time / bare_time
            print(
                f"measures SQL: {measures_time * 1000:.0f} ms; bare SQL aggregate with the "
                f"same figures: {bare_time * 1000:.0f} ms; ratio {ratio:.2f} "
                f"(target <= 1.5: {'met' if ratio <= 1.5 else 'MISSED'})"
            )
            print(
                f"Scotland: {national['made']:,} referrals, conversion "
                f"{table.national.rates['conversion_rate'].text}"
            )
            db.engine.dispose()
    finally:
        if folder:
            shutil.rmtree(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
