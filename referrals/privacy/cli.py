"""``flask --app referrals purge-personal-data`` and ``rotate-keys``."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..extensions import db
from .keys import rotate_keys
from .purge import run_scheduled_purge


@click.command("purge-personal-data")
@click.option(
    "--older-than",
    "days",
    type=click.IntRange(min=1),
    default=None,
    help="Erase referrals closed or declined more than this many days ago "
    "(default: PERSONAL_DATA_RETENTION_DAYS, 730).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be erased; change nothing.")
@with_appcontext
def purge_command(days: int | None, dry_run: bool) -> None:
    """Erase personal data whose retention is over: the custody record number, contact
    name and phone, notes, substances, needs and postcode district of referrals closed
    or declined more than DAYS ago (and the notes on their events, contact attempts and
    updates, and the district on their custody contact); problem reporters' contact
    details and feedback reply addresses PROBLEM_CONTACT_RETENTION_DAYS after the problem
    was resolved or the feedback dealt with; messages and webhook events no longer
    waiting OUTBOX_RETENTION_DAYS after they were made; ended sessions; forms' one-time
    tokens after a day. Keeps what the reports need. Run it daily, e.g. from
    cron: 15 2 * * * cd /srv/referrals && .venv/bin/flask --app referrals
    purge-personal-data"""
    summary = run_scheduled_purge(db.session, older_than_days=days, dry_run=dry_run)
    db.session.commit()
    report = summary.referrals
    finished = f"{report.eligible} referrals finished before {report.cutoff.isoformat()}"
    if dry_run:
        click.echo(
            f"Dry run: {finished}; {report.eligible - report.already_erased} would be "
            f"erased, {report.already_erased} already were; {summary.problem_contacts} "
            "problem reporters' contact details and "
            f"{summary.feedback_addresses} feedback reply addresses would be erased and "
            f"{summary.outbox_rows} old messages deleted. Nothing changed."
        )
    else:
        click.echo(
            f"{finished}: erased the personal data of {report.erased}; "
            f"{report.already_erased} had been erased before. Erased "
            f"{summary.problem_contacts} problem reporters' contact details, "
            f"{summary.feedback_addresses} feedback reply addresses, "
            f"{summary.outbox_rows} old messages and {summary.sessions} ended sessions."
        )


@click.command("rotate-keys")
@with_appcontext
def rotate_keys_command() -> None:
    """Re-encrypt every encrypted value with the first key in DATA_ENCRYPTION_KEYS, in the
    form DATA_ENCRYPTION_FORM names (AES-256-GCM unless it is set to fernet; values saved
    by earlier releases are Fernet tokens), and recompute custody record numbers' search
    hashes. Put the new key first, keep the old one after it, run this, then remove the
    old key. Safe to stop and run again."""
    keys = current_app.config["DATA_ENCRYPTION_KEYS"]
    changed = rotate_keys(db.session)
    total = sum(v for k, v in changed.items() if not k.endswith("_hash"))
    click.echo(f"{len(keys)} key(s) in DATA_ENCRYPTION_KEYS; the first encrypts.")
    for name, count in sorted(changed.items()):
        click.echo(f"  {name}: {count}")
    click.echo(
        f"Re-encrypted {total} values with the first key."
        if total
        else "Every value was already encrypted with the first key, in that form."
    )
    if len(keys) > 1:
        click.echo("The other keys are no longer needed: remove them from every server.")


def init_app(app: Flask) -> None:
    app.cli.add_command(purge_command)
    app.cli.add_command(rotate_keys_command)
