"""Load full postcodes from an ONS Postcode Directory style CSV, streaming.

Rows are read and written in batches, so memory stays flat however big the file
(the whole ONSPD is about 2.7 million rows). Rows without a position (ONSPD marks them
with latitude 99.999999), terminated postcodes (unless asked for) and malformed
postcodes are skipped and counted. A retired council code is read as the code that
replaced it. Everything loads in one transaction: a failure part way leaves the table as
it was.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from sqlalchemy.engine import Connection

from ..areacodes import council_ids, current_code
from ..postcodes import normalise_postcode

CANDIDATES = {
    "postcode": ["pcds", "pcd", "pcd2", "postcode"],
    "latitude": ["lat", "latitude"],
    "longitude": ["long", "lon", "longitude"],
    "council": [
        "laua",
        "lad25cd",
        "lad24cd",
        "lad23cd",
        "oslaua",
        "council_code",
        "council_area_code",
        "lad",
    ],
    "terminated": ["doterm"],
}
BATCH = 20_000


class PostcodeFileError(ValueError):
    """The file does not have the columns needed."""


@dataclass
class PostcodeImportReport:
    read: int = 0
    loaded: int = 0
    no_position: int = 0
    terminated: int = 0
    malformed: int = 0
    malformed_lines: list[int] = field(default_factory=list)


def choose_columns(header: list[str], chosen: dict[str, str | None]) -> dict[str, str | None]:
    """Which column holds each field: the one named in ``chosen``, else a known name."""
    lower = {h.strip().lower(): h for h in header}
    columns: dict[str, str | None] = {}
    for key, names in CANDIDATES.items():
        wanted = chosen.get(key)
        if wanted:
            if wanted.lower() not in lower:
                raise PostcodeFileError(f"the file has no column “{wanted}” for the {key}")
            columns[key] = lower[wanted.lower()]
            continue
        columns[key] = next((lower[n] for n in names if n in lower), None)
    for key in ("postcode", "latitude", "longitude"):
        if columns[key] is None:
            raise PostcodeFileError(
                f"no {key} column found (looked for {', '.join(CANDIDATES[key])}); name it "
                f"with --{key}-column"
            )
    return columns


def import_postcodes(
    connection: Connection,
    stream: TextIO,
    chosen: dict[str, str | None] | None = None,
    *,
    include_terminated: bool = False,
    progress: Callable[[int], None] | None = None,
) -> PostcodeImportReport:
    """Upsert every usable row of ``stream`` into the postcode table. The caller commits."""
    reader = csv.DictReader(stream)
    columns = choose_columns(list(reader.fieldnames or []), chosen or {})
    councils = council_ids(connection)
    report = PostcodeImportReport()
    writer = _Writer(connection)
    batch: list[tuple] = []
    pc_col, lat_col, lon_col = columns["postcode"], columns["latitude"], columns["longitude"]
    council_col, term_col = columns["council"], columns["terminated"]
    for row in reader:
        report.read += 1
        if term_col and not include_terminated and (row.get(term_col) or "").strip():
            report.terminated += 1
            continue
        postcode = normalise_postcode(row.get(pc_col) or "")
        try:
            lat = float(row.get(lat_col) or "nan")
            lon = float(row.get(lon_col) or "nan")
        except ValueError:
            lat = lon = float("nan")
        if postcode is None:
            report.malformed += 1
            if len(report.malformed_lines) < 10:
                report.malformed_lines.append(reader.line_num)
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or lat > 99:
            report.no_position += 1
            continue
        code = (row.get(council_col) or "").strip() if council_col else ""
        council = councils.get(current_code(code)) if code else None
        batch.append((postcode, lat, lon, council))
        if len(batch) >= BATCH:
            report.loaded += writer.write(batch)
            batch.clear()
            if progress:
                progress(report.read)
    if batch:
        report.loaded += writer.write(batch)
    writer.close()
    return report


class _Writer:
    """Upserts batches: executemany on SQLite, COPY and a merge on PostgreSQL."""

    def __init__(self, connection: Connection):
        self.raw = connection.connection.driver_connection
        self.postgres = connection.dialect.name == "postgresql"
        if self.postgres:
            with self.raw.cursor() as cursor:
                cursor.execute(
                    "CREATE TEMPORARY TABLE postcode_batch (postcode varchar(8), latitude "
                    "double precision, longitude double precision, council_area_id integer) "
                    "ON COMMIT DROP"
                )

    def write(self, rows: list[tuple]) -> int:
        if not self.postgres:
            self.raw.executemany(
                "INSERT INTO postcodes (postcode, latitude, longitude, council_area_id) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (postcode) DO UPDATE SET "
                "latitude = excluded.latitude, longitude = excluded.longitude, "
                "council_area_id = excluded.council_area_id",
                rows,
            )
            return len(rows)
        with self.raw.cursor() as cursor:
            with cursor.copy("COPY postcode_batch FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "INSERT INTO postcodes SELECT DISTINCT ON (postcode) * FROM postcode_batch "
                "ON CONFLICT (postcode) DO UPDATE SET latitude = excluded.latitude, "
                "longitude = excluded.longitude, council_area_id = excluded.council_area_id"
            )
            cursor.execute("TRUNCATE postcode_batch")
        return len(rows)

    def close(self) -> None:
        if self.postgres:
            with self.raw.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS postcode_batch")
