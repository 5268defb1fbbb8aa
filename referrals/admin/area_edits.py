"""Changing the geography: council areas (name, code, their ADP, police division and
health board, population, centre) and the groups they belong to (name, code).

A code names an area everywhere else, so when one changes, the targets set for the old
code, its tile on the tile map and its kept days' figures move to the new one in the
same transaction. An
edited area is marked, so that ``seed-reference`` no longer overwrites it. Each change
is audited with what changed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..audit import record
from ..choices import AreaGroupKind
from ..models import AreaGroup, AreaTile, CouncilArea, Target
from ..reports.snapshot import moved_counts, rename_in_kept

CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class AreaProblem(ValueError):
    """A change that cannot be made: ``field`` names the form field it is about."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CouncilValues:
    name: str
    code: str
    adp_id: int | None
    police_division_id: int | None
    health_board_id: int | None
    population: int | None
    latitude: float
    longitude: float


@dataclass
class Geography:
    councils: list[CouncilArea]
    groups: dict[AreaGroupKind, list[tuple[AreaGroup, int]]]  # group, number of councils


def geography(session: Session) -> Geography:
    """Every council area with its groups, and every group with its number of councils."""
    councils = session.scalars(
        sa.select(CouncilArea)
        .options(
            selectinload(CouncilArea.adp),
            selectinload(CouncilArea.police_division),
            selectinload(CouncilArea.health_board),
        )
        .order_by(CouncilArea.name)
    ).all()
    members: dict[int, int] = {}
    for council in councils:
        for group_id in (council.adp_id, council.police_division_id, council.health_board_id):
            members[group_id] = members.get(group_id, 0) + 1
    groups: dict[AreaGroupKind, list[tuple[AreaGroup, int]]] = {k: [] for k in AreaGroupKind}
    for group in session.scalars(sa.select(AreaGroup).order_by(AreaGroup.name)):
        groups[group.kind].append((group, members.get(group.id, 0)))
    return Geography(list(councils), groups)


def group_noun(kind: AreaGroupKind) -> str:
    """``police division``, ``health board``, ``Alcohol and Drug Partnership`` (a name)."""
    return kind.label if kind == AreaGroupKind.ADP else kind.label.lower()


def group_options(session: Session, kind: AreaGroupKind) -> list[tuple[int, str]]:
    return [
        (g.id, g.name)
        for g in session.scalars(
            sa.select(AreaGroup).where(AreaGroup.kind == kind).order_by(AreaGroup.name)
        )
    ]


def _check_code(code: str, taken: bool) -> str:
    code = code.strip()
    if not CODE.fullmatch(code):
        raise AreaProblem(
            "code", "Use only letters, numbers, hyphens and underscores, like S12000049."
        )
    if taken:
        raise AreaProblem("code", f"Another area already has the code {code}.")
    return code


def _move_targets(session: Session, geography_code: str, old: str, new: str) -> dict[str, int]:
    """Move what is keyed by the area's code to its new one: its targets, its tile on the
    tile map and its kept days' published figures (``geography_code`` is the tiles'
    level and the figures' grouping too). Returns, for the audit entry, how many targets
    and how many stored parts of published figures moved (those that did)."""
    if old == new:
        return {}
    session.execute(
        sa.update(AreaTile)
        .where(AreaTile.level == geography_code, AreaTile.code == old)
        .values(code=new)
    )
    parts = rename_in_kept(session, geography_code, old, new)
    result = session.execute(
        sa.update(Target)
        .where(Target.geography == geography_code, Target.area_code == old)
        .values(area_code=new)
    )
    return moved_counts(result.rowcount or 0, parts)


def save_council(
    session: Session, council: CouncilArea | None, values: CouncilValues, now: dt.datetime
) -> CouncilArea:
    """Create (``council`` None) or change a council area. The caller commits."""
    taken = session.scalar(
        sa.select(CouncilArea.id).where(
            sa.func.upper(CouncilArea.code) == values.code.strip().upper(),
            CouncilArea.id != (council.id if council else -1),
        )
    )
    code = _check_code(values.code, taken is not None)
    kinds = {
        "adp_id": AreaGroupKind.ADP,
        "police_division_id": AreaGroupKind.POLICE_DIVISION,
        "health_board_id": AreaGroupKind.HEALTH_BOARD,
    }
    for field, kind in kinds.items():
        group_id = getattr(values, field)
        group = session.get(AreaGroup, group_id) if group_id else None
        if group is None or group.kind != kind:
            raise AreaProblem(field, f"Choose the {group_noun(kind)} from the list.")
    after = {
        "name": values.name.strip(),
        "code": code,
        "adp_id": values.adp_id,
        "police_division_id": values.police_division_id,
        "health_board_id": values.health_board_id,
        "population": values.population,
        "latitude": values.latitude,
        "longitude": values.longitude,
    }
    if council is None:
        council = CouncilArea(**after, edited_at=now)
        session.add(council)
        session.flush()
        record("area_created", council, detail={k: str(v) for k, v in after.items()})
        return council
    before = {name: getattr(council, name) for name in after}
    changes = {k: [str(before[k]), str(after[k])] for k in after if before[k] != after[k]}
    if not changes:
        return council
    moved = _move_targets(session, "council", council.code, code)
    for name, value in after.items():
        setattr(council, name, value)
    council.edited_at = now
    session.flush()
    record("area_updated", council, detail=changes | moved)
    return council


def save_group(
    session: Session,
    group: AreaGroup | None,
    kind: AreaGroupKind,
    name: str,
    code: str,
    now: dt.datetime,
) -> AreaGroup:
    """Create (``group`` None) or rename or recode an ADP, police division or health
    board. The caller commits."""
    taken = session.scalar(
        sa.select(AreaGroup.id).where(
            AreaGroup.kind == kind,
            sa.func.upper(AreaGroup.code) == code.strip().upper(),
            AreaGroup.id != (group.id if group else -1),
        )
    )
    code = _check_code(code, taken is not None)
    name = name.strip()
    if group is None:
        group = AreaGroup(kind=kind, name=name, code=code, edited_at=now)
        session.add(group)
        session.flush()
        record(
            "area_group_created", group, detail={"kind": kind.value, "name": name, "code": code}
        )
        return group
    changes = {
        k: [old, new]
        for k, old, new in (("name", group.name, name), ("code", group.code, code))
        if old != new
    }
    if not changes:
        return group
    moved = _move_targets(session, kind.value, group.code, code)
    group.name, group.code, group.edited_at = name, code, now
    session.flush()
    record("area_group_updated", group, detail=changes | moved)
    return group
