"""What the new-referral form looks up each time it is shown: the council choices (by
name), every postcode district's council (for the form's own look-up as a district is
typed), the name of the custody suite the referral is made in and whether any of the
suite's custody contacts awaits its referral (the form then offers them).

These are read in one statement (a ``UNION ALL`` of their rows, each tagged with what it
is; the districts all in one row, as ``district:council`` pairs), since the form is shown
far more often than any of them changes; the contacts themselves are read only when one
awaits.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..contacts.linking import awaiting_condition, awaiting_params
from ..models import CouncilArea, CustodySuite, PostcodeDistrict

COUNCIL, DISTRICT, SUITE, AWAITING = 0, 1, 2, 3


@dataclass
class FormLookups:
    councils: list[tuple[int, str]]  # (id, name), by name
    district_councils: dict[str, str]  # district -> its council's id, as the form's value
    suite_name: str | None  # None when no suite was asked for (or it is gone)
    # Whether a contact awaits its referral; None when it was not asked.
    contacts_awaiting: bool | None = None


@functools.cache
def _statement(with_suite: bool, awaiting: str | None) -> sa.Select:
    """The look-ups in one statement, built once per process (with the suite's name, as
    the parameter ``suite_id``, or without; with whether a contact awaits its referral
    in one suite (``awaiting`` "one") or any (``"all"``), or without): building and
    keying it costs more than running it."""
    parts = [
        sa.select(
            sa.literal(COUNCIL).label("kind"),
            CouncilArea.id.label("ref"),
            CouncilArea.name.label("text"),
        ),
        # Every district in one row ("G31:12,G32:12,..."): one row to read, not hundreds.
        sa.select(
            sa.literal(DISTRICT),
            sa.literal(0),
            sa.func.aggregate_strings(
                PostcodeDistrict.district
                + ":"
                + sa.cast(PostcodeDistrict.council_area_id, sa.String),
                ",",
            ),
        ),
    ]
    if with_suite:
        parts.append(
            sa.select(sa.literal(SUITE), CustodySuite.id, CustodySuite.name).where(
                CustodySuite.id == sa.bindparam("suite_id")
            )
        )
    if awaiting is not None:
        # One row, if any contact awaits.
        waiting = sa.exists().where(awaiting_condition(awaiting == "one"))
        parts.append(sa.select(sa.literal(AWAITING), sa.literal(0), sa.literal("")).where(waiting))
    rows = sa.union_all(*parts).subquery()
    return sa.select(rows.c.kind, rows.c.ref, rows.c.text).order_by(rows.c.kind, rows.c.text)


def form_lookups(
    session: Session,
    suite_id: int | None,
    awaiting_for: tuple[int | None, dt.date] | None = None,
) -> FormLookups:
    """The look-ups, with the name of the suite ``suite_id`` unless None; with
    ``awaiting_for`` (a suite, or None for every suite, and today), also whether any of
    its contacts awaits its referral."""
    found = FormLookups([], {}, None)
    params = {} if suite_id is None else {"suite_id": suite_id}
    awaiting = None
    if awaiting_for is not None:
        awaiting_suite, today = awaiting_for
        awaiting = "all" if awaiting_suite is None else "one"
        params |= awaiting_params(awaiting_suite, today)
        found.contacts_awaiting = False
    query = _statement(suite_id is not None, awaiting)
    # Plain rows, read through the connection: none of the ORM's work on results.
    for kind, ref, text in session.connection().execute(query, params).all():
        if kind == COUNCIL:
            found.councils.append((ref, text))
        elif kind == DISTRICT:
            if text:  # None when there are no districts at all
                found.district_councils = dict(pair.split(":") for pair in text.split(","))
        elif kind == SUITE:
            found.suite_name = text
        else:
            found.contacts_awaiting = True
    return found
