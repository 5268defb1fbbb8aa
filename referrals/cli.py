"""Command-line tasks: ``flask --app referrals <command>``."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from .clock import today_local
from .config import MISSING_KEY_HELP, ConfigError
from .extensions import db
from .seed.csvfiles import SeedError
from .seed.demo import DemoRefused, load_demo
from .seed.reference import DEFAULT_DIRECTORY, load_reference


@click.command("seed-reference")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=DEFAULT_DIRECTORY,
    show_default="seeds/",
    help="Data pack folder holding council_areas.csv, postcode_districts.csv, places.csv, "
    "custody_suites.csv, nation.csv and tiles.csv (and service_types.csv, or the one in "
    "seeds/), for example seeds/durham.",
)
@with_appcontext
def seed_reference_command(directory: Path) -> None:
    """Load a data pack: service types, council areas and their groups, postcode
    districts, the gazetteer of places, custody suites, the nation's settings (its name,
    level labels, postcode areas, bank-holiday region and search examples) and the tile
    map layout. Safe to run again: rows are matched on their codes and updated in place,
    except areas an administrator has edited, which are kept (an area given a new code
    is found by the code the pack knows it by); a bad row stops the load and nothing is
    saved."""
    try:
        report = load_reference(db.session, directory)
        db.session.commit()
    except SeedError as exc:
        db.session.rollback()
        raise click.ClickException(f"Nothing was loaded. {exc}") from exc
    for line in report.lines():
        click.echo(line)
    click.echo("Reference data is up to date." if not report.changed else "Reference data loaded.")


@click.command("seed-demo")
@click.option(
    "--referrals",
    "count",
    type=click.IntRange(min=0),
    default=5000,
    show_default=True,
    help="How many referrals in all (up to 14 of them placed for the demo accounts).",
)
@click.option(
    "--seed",
    type=int,
    default=1,
    show_default=True,
    help="Random seed: the same seed and date give the same referrals.",
)
@click.option(
    "--as-of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Generate referrals up to this date (YYYY-MM-DD). Default: today.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Delete all referrals and custody contacts and generate them again.",
)
@with_appcontext
def seed_demo_command(count: int, seed: int, as_of, reset: bool) -> None:
    """Load fictional demo data: organisations and services in real towns, the demo
    accounts (password demo-password), arrest referral schemes serving every custody
    suite, targets for several areas and measures, and COUNT referrals with their full
    lifecycle over the last two years (including 12-week checks, diversion outcomes and
    blood-borne virus testing), each from a custody contact, with the contacts not
    referred around them: a few placed so the demo custody officer and provider see
    overdue, new and open referrals, the rest generated. Run seed-reference first. Safe
    to run again: what is already loaded is left as it is. Refuses to touch a database
    with real accounts."""
    as_of_date = as_of.date() if as_of else today_local()
    try:
        report = load_demo(db.session, referrals=count, seed=seed, as_of=as_of_date, reset=reset)
        db.session.commit()
    except (DemoRefused, ValueError) as exc:
        db.session.rollback()
        raise click.ClickException(f"Nothing was loaded. {exc}") from exc
    for line in report.lines:
        click.echo(line)
    if as_of_date == today_local():
        from .reports.params import settings
        from .reports.snapshot import rebuild

        rebuild(db.session, settings(as_of_date))
        click.echo("Today's report figures worked out.")


def init_app(app: Flask) -> None:
    app.cli.add_command(seed_reference_command)
    app.cli.add_command(seed_demo_command)


def help_requested(argv: list[str] | None = None) -> bool:
    """Whether this process is the ``flask`` command asked for help, which needs no
    secret key: ``flask --app referrals seed-demo --help``."""
    argv = sys.argv[1:] if argv is None else argv
    return os.environ.get("FLASK_RUN_FROM_CLI") == "true" and "--help" in argv


def _refuse(*_args, **_kwargs):
    raise ConfigError(MISSING_KEY_HELP)


def _refusing(command: click.Command) -> click.Command:
    """A copy of ``command`` (and of a group's subcommands) that shows its help but
    refuses to run. Copies, so the shared command objects stay as they are."""
    clone = copy.copy(command)
    if isinstance(command, click.Group):
        clone.commands = {name: _refusing(sub) for name, sub in command.commands.items()}
    else:
        clone.callback = _refuse
    return clone


def help_only(app: Flask) -> None:
    """Let an app without a secret key print its commands' help and nothing more: every
    command and every request is refused with the missing-key message."""
    app.cli = _refusing(app.cli)
    app.before_request(_refuse)
