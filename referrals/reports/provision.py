"""Services per 10,000 people by area: a directory fact beside the referral figures
(active services with a location in the area, over the population loaded for its councils)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..models import AreaGroup, CouncilArea, Location, Service

KEYS = {
    "council": CouncilArea.code,
    "adp": CouncilArea.adp_id,
    "police_division": CouncilArea.police_division_id,
    "health_board": CouncilArea.health_board_id,
}


def _statement(grouping: str) -> sa.Select:
    """Per council: its area's code in ``grouping``, its population and its active services
    (one statement; a service with locations in two councils counts in both)."""
    # Most services are active: leaving out the few that are not reads them by the
    # status index instead of every service's row.
    not_active = [status for status in ServiceStatus if status != ServiceStatus.ACTIVE]
    located = (
        sa.select(
            Location.council_area_id.label("council_id"),
            sa.func.count(sa.distinct(Location.service_id)).label("services"),
        )
        .where(
            Location.service_id.not_in(sa.select(Service.id).where(Service.status.in_(not_active)))
        )
        .group_by(Location.council_area_id)
        .subquery()
    )
    code = CouncilArea.code if grouping == "council" else AreaGroup.code
    query = sa.select(code, CouncilArea.population, located.c.services).outerjoin(
        located, located.c.council_id == CouncilArea.id
    )
    if grouping != "council":
        query = query.join(AreaGroup, AreaGroup.id == KEYS[grouping])
    return query


STATEMENTS = {grouping: _statement(grouping) for grouping in KEYS}


def services_per_area(session: Session, grouping: str) -> dict[str, tuple[int, float | None]]:
    """Area key (``council:S12000005``) -> (active services, services per 10,000 people)."""
    if grouping not in KEYS:
        return {}
    return per_area(grouping, session.connection().execute(STATEMENTS[grouping]))


def per_area(grouping: str, rows) -> dict[str, tuple[int, float | None]]:
    """``services_per_area`` from the rows of ``STATEMENTS[grouping]`` (code, population,
    active services), however they were read."""
    totals: dict[Any, list[int]] = {}
    for code, population, services in rows:
        total = totals.setdefault(f"{grouping}:{code}", [0, 0])
        total[0] += services or 0
        total[1] += population or 0
    return {
        key: (count, 10_000 * count / people if people else None)
        for key, (count, people) in totals.items()
    }
