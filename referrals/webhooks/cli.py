"""``flask --app referrals set-webhook``: a system's webhook address from the command line."""

from __future__ import annotations

import uuid

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from ..api.models import ApiClient
from ..extensions import db
from .addresses import AddressProblem
from .registration import remove, rotate_secret, set_address


def find_client(name_or_id: str) -> ApiClient | None:
    text = name_or_id.strip()
    try:
        key = uuid.UUID(text)
    except ValueError:
        return db.session.scalar(
            sa.select(ApiClient).where(sa.func.lower(ApiClient.name) == text.lower())
        )
    return db.session.scalar(sa.select(ApiClient).where(ApiClient.uuid == key))


@click.command("set-webhook")
@click.option("--client", "name", required=True, help="The system's name or client id.")
@click.option("--url", help="The HTTPS address to post status changes to.")
@click.option("--new-secret", is_flag=True, help="Issue a new signing secret (shown once).")
@click.option("--remove", "stop", is_flag=True, help="Stop sending events to the system.")
@with_appcontext
def set_webhook_command(name, url, new_secret, stop):
    """Post every status change to the referrals in a registered system's scope to its own
    address, signed with a secret printed once here. Change, re-key or stop it at
    /admin/api-clients too."""
    client = find_client(name)
    if client is None:
        raise click.BadParameter(
            "no registered system with that name or id", param_hint="--client"
        )
    if stop:
        remove(db.session, client, by=None)
        db.session.commit()
        click.echo(f"{client.name} gets no more events.")
        return
    if not url and not new_secret:
        raise click.UsageError("Give --url, --new-secret or --remove.")
    try:
        issued = set_address(db.session, client, url, actor="command line") if url else None
        if new_secret and issued is None:
            issued = rotate_secret(db.session, client)
    except AddressProblem as problem:
        db.session.rollback()
        raise click.BadParameter(str(problem), param_hint="--url") from None
    db.session.commit()
    click.echo(f"{client.name} gets its status changes at {client.webhook_url}.")
    if issued:
        click.echo("Its signing secret, shown only this once (keep it secret):")
        click.echo(issued.secret)


def init_app(app: Flask) -> None:
    app.cli.add_command(set_webhook_command)
