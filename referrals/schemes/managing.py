"""Creating and changing schemes, and what the admin pages show of them.

A suite is served by one scheme at most. Choosing for a scheme a suite another scheme
serves moves it, and says so (in the message and the audit log), so an administrator
reorganising schemes never has to free a suite first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import record
from ..models import AreaGroup, CouncilArea, CustodySuite, Organisation, User
from .models import Scheme, scheme_suites


@dataclass
class SchemeRow:
    scheme: Scheme
    leads: int


def scheme_rows(session: Session) -> list[SchemeRow]:
    leads = dict(
        session.execute(
            sa.select(User.scheme_id, sa.func.count())
            .where(User.scheme_id.is_not(None), User.active)
            .group_by(User.scheme_id)
        ).all()
    )
    schemes = session.scalars(
        sa.select(Scheme)
        .options(selectinload(Scheme.suites), selectinload(Scheme.organisation))
        .order_by(Scheme.active.desc(), Scheme.name)
    )
    return [SchemeRow(s, leads.get(s.id, 0)) for s in schemes]


def suites_without_scheme(session: Session) -> list[CustodySuite]:
    served = sa.select(scheme_suites.c.custody_suite_id)
    return list(
        session.scalars(
            sa.select(CustodySuite)
            .where(CustodySuite.id.not_in(served))
            .order_by(CustodySuite.name)
        )
    )


def scheme_options(session: Session) -> list[tuple[str, str]]:
    """Every scheme by name, inactive ones saying so."""
    query = sa.select(Scheme.id, Scheme.name, Scheme.active).order_by(Scheme.name)
    return [
        (str(i), name if active else f"{name} (inactive)")
        for i, name, active in session.execute(query)
    ]


def organisation_options(session: Session) -> list[tuple[str, str]]:
    organisations = session.scalars(sa.select(Organisation).order_by(Organisation.name))
    return [(str(o.id), o.name) for o in organisations]


def suite_options(session: Session, scheme: Scheme | None) -> list[tuple[str, str]]:
    """Every suite, by police division, saying which other scheme serves it now."""
    current = dict(
        session.execute(
            sa.select(scheme_suites.c.custody_suite_id, Scheme.name).join(
                Scheme, Scheme.id == scheme_suites.c.scheme_id
            )
        ).all()
    )
    own = {s.id for s in scheme.suites} if scheme else set()
    rows = session.execute(
        sa.select(CustodySuite.id, CustodySuite.name, AreaGroup.name)
        .join(CouncilArea, CouncilArea.id == CustodySuite.council_area_id)
        .join(AreaGroup, AreaGroup.id == CouncilArea.police_division_id)
        .order_by(AreaGroup.name, CustodySuite.name)
    )
    found = []
    for suite_id, name, division in rows:
        label = f"{name} ({division})"
        if suite_id in current and suite_id not in own:
            label += f": now served by {current[suite_id]}"
        found.append((str(suite_id), label))
    return found


def name_or_code_taken(session: Session, name: str, code: str, scheme_id: int | None):
    """Which of ``name`` and ``code`` another scheme already uses."""
    taken = set()
    for column, value in (("name", name), ("code", code)):
        query = sa.select(Scheme.id).where(sa.func.lower(getattr(Scheme, column)) == value.lower())
        if scheme_id is not None:
            query = query.where(Scheme.id != scheme_id)
        if session.scalar(query) is not None:
            taken.add(column)
    return taken


def save_scheme(
    session: Session,
    scheme: Scheme | None,
    *,
    name: str,
    code: str,
    organisation_id: int,
    suite_ids: list[int],
    active: bool,
) -> tuple[Scheme, dict[str, list[str]]]:
    """Create or change a scheme; return it and the suites moved from other schemes (by
    the scheme they left). The caller commits."""
    created = scheme is None
    if scheme is None:
        scheme = Scheme(name=name, code=code, organisation_id=organisation_id)
        session.add(scheme)
    before = {
        "name": scheme.name,
        "code": scheme.code,
        "organisation_id": scheme.organisation_id,
        "active": None if created else scheme.active,
        "suites": sorted(s.id for s in scheme.suites) if not created else [],
    }
    suites = list(session.scalars(sa.select(CustodySuite).where(CustodySuite.id.in_(suite_ids))))
    moved: dict[str, list[str]] = defaultdict(list)
    for other, suite_name in session.execute(
        sa.select(Scheme.name, CustodySuite.name)
        .join(scheme_suites, scheme_suites.c.scheme_id == Scheme.id)
        .join(CustodySuite, CustodySuite.id == scheme_suites.c.custody_suite_id)
        .where(CustodySuite.id.in_(suite_ids), Scheme.id != (scheme.id or 0))
    ):
        moved[other].append(suite_name)
    if moved:
        session.execute(
            sa.delete(scheme_suites).where(
                scheme_suites.c.custody_suite_id.in_(suite_ids),
                scheme_suites.c.scheme_id != (scheme.id or 0),
            )
        )
    scheme.name, scheme.code = name, code
    scheme.organisation_id, scheme.active = organisation_id, active
    scheme.suites = suites
    session.flush()
    after = {
        "name": name,
        "code": code,
        "organisation_id": organisation_id,
        "active": active,
        "suites": sorted(s.id for s in suites),
    }
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if moved:
        changes["moved_from"] = dict(moved)
    record("scheme_created" if created else "scheme_updated", scheme, detail=changes)
    return scheme, dict(moved)
