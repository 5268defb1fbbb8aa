"""``import-services`` and ``import-postcodes``."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ..attributions import POSTCODES, default_postcodes_attribution, set_attribution
from ..audit import record
from ..clock import today_local
from ..extensions import db
from .exchange import import_services
from .postcode_import import PostcodeFileError, import_postcodes


def _database_refused(exc: SQLAlchemyError) -> click.ClickException:
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return click.ClickException(
        f"Nothing was imported: the database stopped the import ({reason}). "
        "Fix the database problem and run the command again."
    )


@click.command("import-services")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, save nothing.")
@with_appcontext
def import_services_command(file: Path, dry_run: bool) -> None:
    """Import services from a CSV FILE (see README for the columns). Every row is checked
    first; if any is wrong nothing is imported and each bad row is listed by line number.
    Services are matched on external_id (service-<id> for a listing made on the website,
    as the export names it), so importing again updates them. An existing service is
    never moved to another organisation; a column the file leaves out, or an empty
    yes/no, gender or status cell, leaves that field as it is. Changes to who can see
    an address, and to a status, are listed to check."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            report = import_services(db.session, handle, today_local())
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise _database_refused(exc) from exc
    if not report.ok:
        db.session.rollback()
        click.echo(f"Nothing was imported: {len(report.errors)} problem(s) in {file.name}.")
        for line, message in report.errors:
            click.echo(f"  line {line}: {message}")
        raise SystemExit(1)
    if dry_run:
        db.session.rollback()
        click.echo(f"All {report.rows} rows are good (dry run: nothing saved).")
        _echo_notes(report.notes)
        return
    record(
        "services_imported",
        object_type="file",
        object_id=file.name,
        actor="command line",
        detail={"created": report.created, "updated": report.updated, "notes": report.notes},
    )
    try:
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        raise _database_refused(exc) from exc
    click.echo(
        f"Imported {report.rows} rows: {report.created} services created, "
        f"{report.updated} updated."
    )
    _echo_notes(report.notes)


def _echo_notes(notes: list[str]) -> None:
    """The changes someone should check: addresses made public or confidential, and
    services opened or closed."""
    for note in notes:
        click.echo(f"Check: {note}")


@click.command("import-postcodes")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--postcode-column", help="Column with the postcode (default: pcds, pcd, postcode).")
@click.option("--latitude-column", help="Column with the latitude (default: lat, latitude).")
@click.option("--longitude-column", help="Column with the longitude (default: long, longitude).")
@click.option(
    "--council-column",
    help="Column with the council area GSS code (default: laua, lad..cd, oslaua, council_code, "
    "council_area_code).",
)
@click.option(
    "--attribution",
    help="The attribution the file's licence asks for, shown on maps that place postcodes "
    "(default: the OS, Royal Mail and National Statistics statement for this year).",
)
@click.option(
    "--include-terminated",
    is_flag=True,
    help="Also load postcodes that are no longer in use (ONSPD doterm set).",
)
@with_appcontext
def import_postcodes_command(
    file: Path,
    postcode_column,
    latitude_column,
    longitude_column,
    council_column,
    include_terminated,
    attribution,
) -> None:
    """Load full postcodes from an ONS Postcode Directory style CSV FILE (or any CSV with
    postcode, latitude and longitude columns), so searches by full postcode are exact.
    Streams the file; safe to run again (rows update)."""
    chosen = {
        "postcode": postcode_column,
        "latitude": latitude_column,
        "longitude": longitude_column,
        "council": council_column,
    }
    started = time.perf_counter()
    connection = db.session.connection()
    with file.open(newline="", encoding="utf-8-sig") as handle:
        try:
            report = import_postcodes(
                connection,
                handle,
                chosen,
                include_terminated=include_terminated,
                progress=lambda n: (
                    click.echo(f"  {n:,} rows read", err=True) if n % 500_000 == 0 else None
                ),
            )
        except PostcodeFileError as exc:
            db.session.rollback()
            raise click.ClickException(f"Nothing was loaded: {exc}.") from exc
    set_attribution(db.session, POSTCODES, attribution or default_postcodes_attribution())
    record(
        "postcodes_imported",
        object_type="file",
        object_id=file.name,
        actor="command line",
        detail={"loaded": report.loaded, "read": report.read},
    )
    db.session.commit()
    seconds = time.perf_counter() - started
    click.echo(f"Loaded {report.loaded:,} postcodes from {report.read:,} rows in {seconds:.0f} s.")
    if report.terminated:
        click.echo(f"Skipped {report.terminated:,} terminated postcodes.")
    if report.no_position:
        click.echo(f"Skipped {report.no_position:,} rows with no position.")
    if report.malformed:
        lines = ", ".join(str(n) for n in report.malformed_lines)
        click.echo(f"Skipped {report.malformed:,} malformed postcodes (lines {lines}...).")


def init_app(app: Flask) -> None:
    app.cli.add_command(import_services_command)
    app.cli.add_command(import_postcodes_command)
