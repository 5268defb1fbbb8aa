"""Arrest referral schemes as a grouping of the reports: each scheme is the custody suites
it serves (a suite is served by one scheme at most, so no suite is counted twice). Its
figures are the sums of its suites' figures, protected with them in the custody suite
family (see ``figures``).

Only active schemes are groupings of current figures: an inactive scheme has stopped
working and serves no suites (see ``schemes.managing``). Its past published figures stay
where they were kept, under its code (``own.find_unit`` still finds it)."""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..schemes.models import Scheme, scheme_suites


def scheme_members(session: Session) -> dict[str, frozenset[int]]:
    """Active scheme code -> the ids of the custody suites it serves (schemes serving
    none are left out: they have no figures)."""
    members: dict[str, set[int]] = defaultdict(set)
    rows = session.execute(
        sa.select(Scheme.code, scheme_suites.c.custody_suite_id)
        .join(scheme_suites, scheme_suites.c.scheme_id == Scheme.id)
        .where(Scheme.active)
    )
    for code, suite_id in rows:
        members[code].add(suite_id)
    return {code: frozenset(ids) for code, ids in members.items()}


def scheme_names(session: Session) -> list[tuple[str, str, str]]:
    """(code, code, name) of every active scheme serving at least one custody suite."""
    serving = sa.select(scheme_suites.c.scheme_id).distinct()
    return [
        (code, code, name)
        for code, name in session.execute(
            sa.select(Scheme.code, Scheme.name).where(Scheme.id.in_(serving), Scheme.active)
        )
    ]
