"""What the new-referral form looks up each time it is shown: the council choices (by
name), every postcode district's council (for the form's own look-up as a district is
typed) and the name of the custody suite the referral is made in.

The three are read in one statement (a ``UNION ALL`` of their rows, each tagged with
what it is), since the form is shown far more often than any of them changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import CouncilArea, CustodySuite, PostcodeDistrict

COUNCIL, DISTRICT, SUITE = 0, 1, 2


@dataclass
class FormLookups:
    councils: list[tuple[int, str]]  # (id, name), by name
    district_councils: dict[str, str]  # district -> its council's id, as the form's value
    suite_name: str | None  # None when no suite was asked for (or it is gone)


@functools.cache
def _statement(with_suite: bool) -> sa.Select:
    """The look-ups in one statement, built once per process (with the suite's name, as
    the parameter ``suite_id``, or without): building and keying it costs more than
    running it."""
    parts = [
        sa.select(
            sa.literal(COUNCIL).label("kind"),
            CouncilArea.id.label("ref"),
            CouncilArea.name.label("text"),
        ),
        sa.select(
            sa.literal(DISTRICT), PostcodeDistrict.council_area_id, PostcodeDistrict.district
        ),
    ]
    if with_suite:
        parts.append(
            sa.select(sa.literal(SUITE), CustodySuite.id, CustodySuite.name).where(
                CustodySuite.id == sa.bindparam("suite_id")
            )
        )
    rows = sa.union_all(*parts).subquery()
    return sa.select(rows.c.kind, rows.c.ref, rows.c.text).order_by(rows.c.kind, rows.c.text)


def form_lookups(session: Session, suite_id: int | None) -> FormLookups:
    found = FormLookups([], {}, None)
    query = _statement(suite_id is not None)
    params = {} if suite_id is None else {"suite_id": suite_id}
    # Plain rows, read through the connection: none of the ORM's work on results.
    for kind, ref, text in session.connection().execute(query, params).all():
        if kind == COUNCIL:
            found.councils.append((ref, text))
        elif kind == DISTRICT:
            found.district_councils[text] = str(ref)
        else:
            found.suite_name = text
    return found
