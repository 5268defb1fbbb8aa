"""``flask --app referrals purge-personal-data``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..audit import record
from ..clock import now_utc, today_local
from ..extensions import db
from .retention import purge_personal_data


@click.command("purge-personal-data")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Erase referrals closed or declined more than this many days ago. "
    "Default: the PERSONAL_DATA_RETENTION_DAYS setting (180), which the privacy notice states.",
)
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@with_appcontext
def purge_command(days: int | None, dry_run: bool) -> None:
    """Erase the contact name, phone number and notes of referrals closed or declined
    more than DAYS ago (and the notes on their events). Keeps what the reports need."""
    days = days or current_app.config["PERSONAL_DATA_RETENTION_DAYS"]
    report = purge_personal_data(db.session, days, today_local(), now_utc(), dry_run)
    record(
        "personal_data_purge_dry_run" if dry_run else "personal_data_purged",
        object_type="referrals",
        actor="command line",
        detail={
            "older_than_days": days,
            "cutoff": report.cutoff.isoformat(),
            "eligible": report.eligible,
            "erased": report.erased,
            "already_erased": report.already_erased,
        },
    )
    db.session.commit()
    finished = f"{report.eligible} referrals finished before {report.cutoff.isoformat()}"
    if dry_run:
        click.echo(
            f"Dry run: {finished}; {report.eligible - report.already_erased} would be "
            f"erased, {report.already_erased} already were. Nothing changed."
        )
    else:
        click.echo(
            f"{finished}: erased name, phone and notes of {report.erased}; "
            f"{report.already_erased} had been erased before."
        )


def init_app(app: Flask) -> None:
    app.cli.add_command(purge_command)
