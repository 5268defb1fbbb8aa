"""Demo arrest referral schemes: one for the custody suites of each police division in
each health board, run by that board's regional demo organisation (the Glasgow scheme by
the demo provider's own organisation), so every suite is served and a division can hold
several schemes."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import AreaGroup, CouncilArea, CustodySuite, Organisation
from ..schemes.models import Scheme


def build_demo_schemes(session: Session, provider: Organisation, provider_suite: str) -> int:
    """Create the demo schemes unless there are schemes already; return how many."""
    if session.scalar(sa.select(sa.func.count()).select_from(Scheme)):
        return 0
    groups: dict[tuple[int, int], list[CustodySuite]] = defaultdict(list)
    rows = session.execute(
        sa.select(CustodySuite, CouncilArea.police_division_id, CouncilArea.health_board_id)
        .join(CouncilArea, CouncilArea.id == CustodySuite.council_area_id)
        .order_by(CustodySuite.code)
    )
    for suite, division_id, board_id in rows:
        groups[(division_id, board_id)].append(suite)
    names = {g.id: g for g in session.scalars(sa.select(AreaGroup))}
    per_division: dict[int, int] = defaultdict(int)
    for division_id, _ in groups:
        per_division[division_id] += 1
    seen: dict[int, int] = defaultdict(int)
    for (division_id, board_id), suites in sorted(
        groups.items(), key=lambda item: (names[item[0][0]].code, names[item[0][1]].name)
    ):
        division, board = names[division_id], names[board_id]
        seen[division_id] += 1
        name = f"{division.name} Arrest Referral Scheme"
        if per_division[division_id] > 1:
            name = f"{division.name} ({board.name.removeprefix('NHS ')}) Arrest Referral Scheme"
        if any(s.code == provider_suite for s in suites):
            organisation = provider
        else:
            organisation = (
                session.scalar(
                    sa.select(Organisation).where(
                        Organisation.external_id == f"demo-org-board-{board_id}"
                    )
                )
                or provider
            )
        session.add(
            Scheme(
                code=f"ARS-{division.code}{seen[division_id]}",
                name=name,
                organisation=organisation,
                suites=suites,
            )
        )
    session.flush()
    return len(groups)
