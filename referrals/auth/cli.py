"""``flask --app referrals create-user``."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..audit import record
from ..choices import Role
from ..extensions import db
from ..models import CouncilArea, CustodySuite, Organisation, User
from .passwords import password_problem
from .signin import normalise_email


def find_organisation(value: str) -> Organisation | None:
    """The organisation ``value`` names: its id, external id or name. None when none
    does; when several do (names are not unique, and a number may be one's id and
    another's external id or name), a usage error listing them, so that an account or
    a system is never attached to the wrong one and shown its referrals."""
    conditions = [Organisation.external_id == value, Organisation.name == value]
    if value.isdigit():
        conditions.append(Organisation.id == int(value))
    found = list(
        db.session.scalars(
            sa.select(Organisation).where(sa.or_(*conditions)).order_by(Organisation.id)
        )
    )
    if len(found) > 1:
        listed = "; ".join(
            f"id {o.id}: {o.name}" + (f" (external id {o.external_id})" if o.external_id else "")
            for o in found
        )
        raise click.BadParameter(
            f"“{value}” names {len(found)} organisations ({listed}): give the id of the one "
            "you mean",
            param_hint="--organisation",
        )
    return found[0] if found else None


@click.command("create-user")
@click.option("--email", required=True, help="Sign-in email address.")
@click.option("--name", help="Full name, as shown to others (default: from the email).")
@click.option("--role", type=click.Choice(Role.values()), required=True)
@click.option("--custody-suite", "suite_code", help="Custody suite code (custody role).")
@click.option("--organisation", help="Organisation id, external id or name (provider role).")
@click.option(
    "--area",
    "area_codes",
    multiple=True,
    help="Council area GSS code (area lead role); repeat for several.",
)
@click.option(
    "--manager",
    is_flag=True,
    help="Supervises their custody suite (custody) or manages their organisation "
    "(provider: gets the daily overdue digest).",
)
@click.password_option(help="Password (prompted for, twice, when not given).")
@with_appcontext
def create_user_command(
    email, name, role, suite_code, organisation, area_codes, manager, password
):
    """Create a user account. Custody users need a custody suite, providers an
    organisation, area leads one or more council areas."""
    email = normalise_email(email)
    if "@" not in email:
        raise click.BadParameter("enter a full email address", param_hint="--email")
    if db.session.scalar(sa.select(User).where(User.email == email)):
        raise click.ClickException(f"A user with the email {email} already exists.")
    problem = password_problem(password, email)
    if problem:
        raise click.BadParameter(problem, param_hint="--password")
    if manager and role not in (Role.CUSTODY, Role.PROVIDER):
        raise click.BadParameter(
            "only custody staff and providers can be managers", param_hint="--manager"
        )
    user = User(email=email, name=name or email.split("@")[0], role=Role(role), manager=manager)
    if role == Role.CUSTODY:
        suite = db.session.scalar(
            sa.select(CustodySuite).where(CustodySuite.code == (suite_code or "").upper())
        )
        if suite is None:
            raise click.BadParameter(
                "give a known custody suite code", param_hint="--custody-suite"
            )
        user.custody_suite = suite
    if role == Role.PROVIDER:
        org = find_organisation(organisation or "")
        if org is None:
            raise click.BadParameter("give a known organisation", param_hint="--organisation")
        user.organisation = org
    if role == Role.LEAD:
        area_codes = [code.strip().upper() for code in area_codes]
        areas = list(
            db.session.scalars(sa.select(CouncilArea).where(CouncilArea.code.in_(area_codes)))
        )
        if not area_codes or len(areas) != len(set(area_codes)):
            raise click.BadParameter("give the GSS code of each council area", param_hint="--area")
        user.areas = areas
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    record("user_created", user, actor="command line", detail={"role": role})
    db.session.commit()
    click.echo(f"Created {role} user {email}.")
