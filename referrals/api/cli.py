"""``flask --app referrals create-api-client``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import with_appcontext

from ..auth.cli import find_organisation
from ..extensions import db
from ..models import CustodySuite
from .clients import ClientProblem, register

OPTION_FOR = {
    "name": "--name",
    "contact_email": "--contact-email",
    "suite_ids": "--custody-suite",
    "organisation_id": "--organisation",
    "role": "--role",
}


@click.command("create-api-client")
@click.option("--name", required=True, help="Name of the system, as the audit log shows it.")
@click.option(
    "--role",
    type=click.Choice(["custody", "provider", "reports"]),
    required=True,
    help="custody: a custody system for a set of suites; provider: a provider's case "
    "system; reports: a system that reads the published report figures (like an area lead).",
)
@click.option(
    "--custody-suite",
    "suite_codes",
    multiple=True,
    help="Custody suite code (custody systems); repeat for several.",
)
@click.option("--organisation", help="Organisation id, external id or name (provider systems).")
@click.option("--contact-email", help="Who to tell about the system's token.")
@with_appcontext
def create_api_client_command(name, role, suite_codes, organisation, contact_email):
    """Register a system that uses the referral API and print its token, once. It may do
    exactly what custody staff of its suites, or its organisation's provider staff, may
    do; a reports system reads /api/v1/reports/ as an area lead may. Replace or revoke
    the token at /admin/api-clients; give it a webhook address with set-webhook."""
    codes = sorted({code.strip().upper() for code in suite_codes})
    if codes and role != "custody":
        raise click.BadParameter(
            "only a custody system has custody suites", param_hint="--custody-suite"
        )
    if organisation and role != "provider":
        raise click.BadParameter(
            "only a provider's system has an organisation", param_hint="--organisation"
        )
    suites = list(db.session.scalars(sa.select(CustodySuite).where(CustodySuite.code.in_(codes))))
    if len(suites) != len(codes):
        known = {s.code for s in suites}
        unknown = ", ".join(c for c in codes if c not in known)
        raise click.BadParameter(
            f"no custody suite with the code {unknown}", param_hint="--custody-suite"
        )
    org = find_organisation(organisation) if organisation else None
    if organisation and org is None:
        raise click.BadParameter("give a known organisation", param_hint="--organisation")
    try:
        issued = register(
            db.session,
            name=name,
            role="lead" if role == "reports" else role,
            suite_ids=[s.id for s in suites],
            organisation_id=org.id if org else None,
            contact_email=contact_email,
            actor="command line",
        )
    except ClientProblem as problem:
        db.session.rollback()
        field, message = next(iter(problem.errors.items()))
        raise click.BadParameter(message, param_hint=OPTION_FOR.get(field, field)) from None
    db.session.commit()
    client = issued.client
    click.echo(f"Registered {client.name} ({role}) with id {client.uuid}.")
    click.echo("Its token, shown only this once (keep it secret; send it as a Bearer token):")
    click.echo(issued.token)


def init_app(app: Flask) -> None:
    app.cli.add_command(create_api_client_command)
