"""``flask --app referrals import-boundaries``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from ..audit import record
from ..extensions import db
from .boundaries import DEFAULT_TOLERANCE, BoundaryFileError, import_boundaries


@click.command("import-boundaries")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--code-property",
    required=True,
    help="The feature property holding the council area's GSS code, e.g. CA19CD.",
)
@click.option(
    "--tolerance",
    type=float,
    default=DEFAULT_TOLERANCE,
    show_default=True,
    help="Simplification tolerance in degrees (larger: lighter, coarser).",
)
@click.option(
    "--attribution",
    default=None,
    help="The statement the boundaries' licence asks for, shown on every map that draws "
    "them (default: the Office for National Statistics' statement for this year).",
)
@with_appcontext
def import_boundaries_command(
    file: Path, code_property: str, tolerance: float, attribution: str | None
) -> None:
    """Load council area boundaries from a GeoJSON FILE for the area map, simplified
    together so that neighbours still meet, with the ADP, police division and health board
    boundaries made from them. Loading again replaces them."""
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
        report = import_boundaries(
            db.session, data, code_property, tolerance, attribution=attribution
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        db.session.rollback()
        raise click.ClickException(f"Nothing was loaded: the file is not JSON ({exc}).") from exc
    except BoundaryFileError as exc:
        db.session.rollback()
        raise click.ClickException(f"Nothing was loaded: {exc}.") from exc
    record(
        "boundaries_imported",
        object_type="file",
        object_id=file.name,
        actor="command line",
        detail={"loaded": report.loaded},
    )
    db.session.commit()
    click.echo(
        f"Loaded boundaries for {report.loaded} council areas from {report.features} "
        f"features ({report.points_before:,} points simplified to "
        f"{report.points_after:,})."
    )
    if report.unknown_codes:
        click.echo(
            f"Ignored {len(report.unknown_codes)} features with codes that are not "
            f"council areas here: {', '.join(report.unknown_codes[:10])}"
        )
    if report.missing_councils:
        click.echo(
            f"No boundary for {len(report.missing_councils)} council areas: "
            f"{', '.join(report.missing_councils[:10])}"
        )
    for message in report.messages:
        click.echo(message)
    click.echo(
        f"Made boundaries for {report.groups_loaded} ADPs, police divisions and health boards."
    )


@click.command("refresh-reports")
@with_appcontext
def refresh_reports_command() -> None:
    """Work out today's published report figures again now (they are otherwise worked out
    once a day, by the first report asked for). Run it after an import or a correction
    that should show in today's reports."""
    from ..clock import today_local
    from .params import settings
    from .snapshot import rebuild

    snapshot = rebuild(db.session, settings(today_local()))
    click.echo(
        f"Report figures as at {snapshot.as_of:%d %B %Y} worked out "
        f"({len(snapshot.periods)} periods)."
    )


@click.command("rebuild-summaries")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Add up every day again, not only the days changed since the last time.",
)
@with_appcontext
def rebuild_summaries_command(everything: bool) -> None:
    """Bring the report summary tables (referrals and custody contacts added up per day,
    area and kind of person) up to date: the days changed since they were last read are
    added up again from the referrals and contacts. Reports do this themselves before
    working out the day's figures; use --all after restoring a backup or changing the
    referrals or contacts outside the database's own triggers."""
    from flask import current_app

    from .contact_summaries import refresh as refresh_contacts
    from .summaries import refresh

    config = current_app.config
    done = refresh(
        db.session,
        config["ENGAGEMENT_WINDOW_DAYS"],
        config["TREATMENT_WINDOW_DAYS"],
        everything=everything,
    )
    contacts = refresh_contacts(db.session, everything=everything)
    db.session.commit()
    for what, result in (("Summaries", done), ("Contact summary", contacts)):
        click.echo(_said(what, result))


def _said(what: str, done) -> str:
    if done.everything:
        return f"{what} rebuilt for every day ({done.days} days) in {done.seconds:.1f} s."
    if done.days:
        days = f"{done.days} day" + ("s" if done.days != 1 else "")
        return f"{what} brought up to date: {days} added up again."
    return f"{what} already up to date."


def init_app(app: Flask) -> None:
    app.cli.add_command(import_boundaries_command)
    app.cli.add_command(refresh_reports_command)
    app.cli.add_command(rebuild_summaries_command)
