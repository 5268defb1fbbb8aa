"""Creating and changing schemes, and what the admin pages show of them.

A suite is served by one scheme at most. Choosing for a scheme a suite another scheme
serves moves it, and says so (in the message and the audit log), so an administrator
reorganising schemes never has to free a suite first.

An inactive scheme has stopped working: it serves no custody suites, is no report
grouping for current figures and is no current unit of its leads (``reports.own``), but
keeps its name, code and past published figures. So a scheme cannot be made inactive
while it still serves suites (the administrator moves them to another scheme first): a
suite is never counted as served by a team that no longer works. A scheme left inactive
with suites by an earlier version serves them no more: they show as unserved.

A scheme's code names it in targets (``Target.area_code`` with geography ``scheme``) and
in the kept days' published figures, so a new code takes the scheme's targets and
figures with it in the same transaction, as a council's or group's does
(``admin.area_edits``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import record
from ..models import AreaGroup, CouncilArea, CustodySuite, Organisation, Target, User
from ..reports.snapshot import moved_counts, rename_in_kept
from .models import Scheme, scheme_suites


class SchemeProblem(ValueError):
    """A change that cannot be made: ``field`` names the form field it is about."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


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
    """Suites no active scheme serves (an inactive scheme serves none)."""
    served = sa.select(scheme_suites.c.custody_suite_id).join(
        Scheme, sa.and_(Scheme.id == scheme_suites.c.scheme_id, Scheme.active)
    )
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


def _move_targets(session: Session, old: str, new: str) -> dict[str, int]:
    """Move the targets set for scheme code ``old`` to ``new``, and its kept days'
    published figures; return, for the audit entry, how many targets and stored parts of
    published figures moved (those that did).

    Refuses when a target kept under ``new`` (left there by a scheme recoded before
    targets moved with codes) is for the same measure and start as one of the scheme's:
    moving would break the one-target-per-period rule, and which to keep is the
    administrator's choice, not ours."""
    if old == new:
        return {}
    mine = sa.select(Target.measure, Target.period_start).where(
        Target.geography == "scheme", Target.area_code == old
    )
    clash = session.scalar(
        sa.select(Target.id).where(
            Target.geography == "scheme",
            Target.area_code == new,
            sa.tuple_(Target.measure, Target.period_start).in_(mine),
        )
    )
    if clash is not None:
        raise SchemeProblem(
            "code",
            f"The code {new} already has targets from an earlier scheme for the same "
            "measures and periods as this scheme's. Choose another code.",
        )
    result = session.execute(
        sa.update(Target)
        .where(Target.geography == "scheme", Target.area_code == old)
        .values(area_code=new)
    )
    parts = rename_in_kept(session, "scheme", old, new)
    return moved_counts(result.rowcount or 0, parts)


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
    the scheme they left). The caller commits. Raises ``SchemeProblem``, having changed
    nothing, for an inactive scheme given suites or a new code whose targets would clash."""
    if not active and suite_ids:
        raise SchemeProblem(
            "active",
            "A scheme serving custody suites stays active. Move its custody suites to "
            "another scheme (or untick them) first, then make it inactive.",
        )
    created = scheme is None
    moved_with_code = {} if created else _move_targets(session, scheme.code, code)
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
    changes |= moved_with_code
    record("scheme_created" if created else "scheme_updated", scheme, detail=changes)
    return scheme, dict(moved)
