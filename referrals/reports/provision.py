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


def services_per_area(session: Session, grouping: str) -> dict[str, tuple[int, float | None]]:
    """Area key (``council:S12000005``) -> (active services, services per 10,000 people)."""
    if grouping not in KEYS:
        return {}
    located = (
        sa.select(Location.council_area_id, sa.func.count(sa.distinct(Location.service_id)))
        .join(Service, Service.id == Location.service_id)
        .where(Service.status == ServiceStatus.ACTIVE)
        .group_by(Location.council_area_id)
    )
    services = dict(session.execute(located).all())
    codes = dict(session.execute(sa.select(AreaGroup.id, AreaGroup.code)).all())
    totals: dict[Any, list[int]] = {}
    for council_id, key, population in session.execute(
        sa.select(CouncilArea.id, KEYS[grouping], CouncilArea.population)
    ):
        code = key if grouping == "council" else codes[key]
        total = totals.setdefault(f"{grouping}:{code}", [0, 0])
        total[0] += services.get(council_id, 0)
        total[1] += population or 0
    return {
        key: (count, 10_000 * count / people if people else None)
        for key, (count, people) in totals.items()
    }
