"""Demo data: the fictional directory, the demo accounts, arrest referral schemes, and
generated referrals with the custody contacts they come from.

Loading is idempotent: the directory and accounts are created once (marked by the
``demo_data`` setting), and referrals are generated once per ``--referrals``/``--seed``
(marked by ``demo_referrals``). Demo data is never loaded into a database that already
has real user accounts, because the demo accounts have a published password.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Role
from ..contacts.models import CustodyContact
from ..models import (
    UNUSABLE_PASSWORD,
    AppSetting,
    CouncilArea,
    CustodySuite,
    Organisation,
    Referral,
    ReferralEvent,
    Service,
    User,
    utcnow,
)
from ..nation import DEMO_SETTING
from ..schemes.models import scheme_suites
from .bulk import reset_sequence
from .demo_directory import build_demo_directory, demo_provider_organisation
from .demo_schemes import build_demo_schemes
from .referral_generator import delete_all_referrals, generate_referrals
from .showcase import CASES, add_showcase_referrals, add_targets

DEMO_PASSWORD = "demo-password"  # noqa: S105 - published on purpose, demo only
DEMO_DOMAIN = "demo.test"
REFERRALS_SETTING = "demo_referrals"
DEMO_CUSTODY_SUITE = "GLA-LR"
DEMO_LEAD_AREAS = ["S12000049"]  # Glasgow City

DEMO_ACCOUNTS = [
    # email, name, role
    ("custody@demo.test", "Demo Custody Officer", Role.CUSTODY),
    ("provider@demo.test", "Demo Provider Worker", Role.PROVIDER),
    ("lead@demo.test", "Demo Area Lead", Role.LEAD),
    ("admin@demo.test", "Demo Administrator", Role.ADMIN),
]


class DemoRefused(RuntimeError):
    """Demo data would be mixed with real data, or the request conflicts with what is
    already loaded."""


@dataclass
class DemoReport:
    lines: list[str] = field(default_factory=list)
    changed: bool = False


def _setting(session: Session, key: str) -> dict | None:
    row = session.get(AppSetting, key)
    return json.loads(row.value) if row else None


def _set(session: Session, key: str, value: dict) -> None:
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=json.dumps(value, sort_keys=True)))
    else:
        row.value = json.dumps(value, sort_keys=True)


def _account(session: Session, email: str) -> User:
    return session.scalar(sa.select(User).where(User.email == email))


def _is_demo_email(email: str) -> bool:
    return email.endswith("@" + DEMO_DOMAIN)


def _create_accounts(session: Session) -> dict[str, User]:
    """The four published demo accounts, plus inactive stand-in accounts (no usable
    password) recorded as the referrer for each custody suite and the worker for each
    organisation in generated referrals."""
    suite = session.scalar(sa.select(CustodySuite).where(CustodySuite.code == DEMO_CUSTODY_SUITE))
    if suite is None:
        suite = session.scalar(sa.select(CustodySuite).order_by(CustodySuite.code))
    organisation = demo_provider_organisation(session)
    areas = list(
        session.scalars(sa.select(CouncilArea).where(CouncilArea.code.in_(DEMO_LEAD_AREAS)))
    )
    accounts = {}
    for email, name, role in DEMO_ACCOUNTS:
        user = User(email=email, name=name, role=role)
        user.set_password(DEMO_PASSWORD)
        if role == Role.CUSTODY:
            user.custody_suite = suite
            user.manager = True  # a supervisor: sees the suite's own figures
        elif role == Role.PROVIDER:
            user.organisation = organisation
            user.manager = True  # so the daily overdue digest has someone to go to
        elif role == Role.LEAD:
            user.areas = areas
        session.add(user)
        accounts[email] = user
    for other in session.scalars(sa.select(CustodySuite).order_by(CustodySuite.code)):
        if other.id == suite.id:
            continue
        session.add(
            User(
                email=f"referrer.{other.code.lower()}@{DEMO_DOMAIN}",
                name=f"Demo referrer, {other.name}",
                role=Role.CUSTODY,
                custody_suite=other,
                password_hash=UNUSABLE_PASSWORD,
                active=False,
            )
        )
    for org in session.scalars(sa.select(Organisation).order_by(Organisation.id)):
        if org.id == organisation.id:
            continue
        session.add(
            User(
                email=f"staff.{org.external_id}@{DEMO_DOMAIN}",
                name=f"Demo worker, {org.name}",
                role=Role.PROVIDER,
                organisation=org,
                password_hash=UNUSABLE_PASSWORD,
                active=False,
            )
        )
    session.flush()
    return accounts


def load_demo(
    session: Session,
    *,
    referrals: int,
    seed: int,
    as_of: dt.date,
    reset: bool = False,
    now: dt.datetime | None = None,
) -> DemoReport:
    """Load the demo directory, accounts and referrals. The caller commits."""
    report = DemoReport()
    now = now or utcnow()
    directory = _setting(session, DEMO_SETTING)
    if directory is None:
        real_users = session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(~User.email.like(f"%@{DEMO_DOMAIN}"))
        )
        if real_users or session.scalar(sa.select(sa.func.count()).select_from(Service)):
            raise DemoRefused(
                "This database already holds real accounts or services, so demo data (whose "
                "accounts have a published password) will not be added to it. Load the demo "
                "into its own database, e.g. DATABASE_URL=sqlite:///demo.sqlite."
            )
        summary = build_demo_directory(session, as_of)
        accounts = _create_accounts(session)
        provider, admin = accounts["provider@demo.test"], accounts["admin@demo.test"]
        session.execute(
            sa.update(Service)
            .where(Service.organisation_id == provider.organisation_id)
            .values(last_verified_by_id=provider.id)
        )
        session.execute(
            sa.update(Service)
            .where(Service.organisation_id != provider.organisation_id)
            .values(last_verified_by_id=admin.id)
        )
        targets = add_targets(session, as_of, accounts["lead@demo.test"], admin)
        _set(session, DEMO_SETTING, {"loaded_at": now.isoformat(), "as_of": as_of.isoformat()})
        report.lines.append(
            f"Demo directory: {summary.organisations} organisations, {summary.services} "
            f"services at {summary.locations} locations."
        )
        report.lines.append("Demo accounts: " + ", ".join(e for e, _, _ in DEMO_ACCOUNTS))
        report.lines.append(f"Demo targets: {targets}, for several areas and measures.")
        report.changed = True
    else:
        report.lines.append("Demo directory and accounts are already loaded.")
    provider = session.scalar(sa.select(User).where(User.email == "provider@demo.test"))
    schemes = build_demo_schemes(session, provider.organisation, DEMO_CUSTODY_SUITE)
    if schemes:
        report.lines.append(
            f"Demo schemes: {schemes} arrest referral schemes serving every custody suite."
        )
        report.changed = True
        # The demo provider leads the scheme their organisation runs, so the scheme's
        # own figures show.
        provider.scheme_id = session.scalar(
            sa.select(scheme_suites.c.scheme_id)
            .join(CustodySuite, CustodySuite.id == scheme_suites.c.custody_suite_id)
            .where(CustodySuite.code == DEMO_CUSTODY_SUITE)
        )

    wanted = {"referrals": referrals, "seed": seed}
    loaded = _setting(session, REFERRALS_SETTING)
    if loaded is not None and not reset:
        if {k: loaded.get(k) for k in wanted} != wanted:
            raise DemoRefused(
                f"Demo referrals are already loaded ({loaded['referrals']} with seed "
                f"{loaded['seed']}, as of {loaded['as_of']}). Add --reset to replace them."
            )
        report.lines.append(
            f"Demo referrals are already loaded ({loaded['referrals']} with seed "
            f"{loaded['seed']}, as of {loaded['as_of']}); nothing changed."
        )
        return report
    if (
        loaded is None
        and not reset
        and (
            session.scalar(sa.select(sa.func.count()).select_from(Referral))
            or session.scalar(sa.select(sa.func.count()).select_from(CustodyContact))
        )
    ):
        raise DemoRefused(
            "This database holds referrals or custody contacts that are not demo data; add "
            "--reset to delete every referral and contact and generate demo ones instead."
        )
    deleted = delete_all_referrals(session)
    if deleted:
        report.lines.append(f"Deleted {deleted} existing referrals and their custody contacts.")
    placed = min(len(CASES), referrals)
    result = generate_referrals(session, referrals - placed, seed, as_of, now)
    made = result.referrals
    if placed:
        made_so_far = session.scalar(sa.select(sa.func.max(Referral.id))) or 0
        made += add_showcase_referrals(
            session,
            custody=_account(session, "custody@demo.test"),
            provider=_account(session, "provider@demo.test"),
            start_id=made_so_far + 1,
            as_of=as_of,
            now=now,
        )
        reset_sequence(session.connection(), Referral.__table__)
    events = session.scalar(sa.select(sa.func.count()).select_from(ReferralEvent))
    _set(session, REFERRALS_SETTING, {**wanted, "as_of": as_of.isoformat()})
    report.lines.append(
        f"Demo referrals: {made} referrals with {events} events, from "
        f"{result.contacts} custody contacts (seed {seed}, as of {as_of.isoformat()})."
    )
    report.changed = True
    return report
