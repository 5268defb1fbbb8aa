"""What the area table looks up each time it is shown, beside the day's stored figures:
the names of the chosen geography's areas, the targets for the chosen measure that apply
to the period, each council's population and active services (services per 10,000
people, ``provision``) and, for an area lead, their own council areas.

These are read in one statement (a ``UNION ALL`` of their rows, each tagged with what it
is), since the page is shown far more often than any of them changes. The names, targets
and services are the statements ``tables`` and ``provision`` read them with, unchanged,
and the lead's councils are read as their ``areas`` relationship reads them (by name), so
the rows are the same as if each were read alone. A part the page does not need is left
out; the names of schemes, services and providers, and a lead's ADPs and police
divisions, are read as before, by the modules that read them.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import Role
from ..models import CouncilArea, UTCDateTime, user_areas
from . import provision
from .measures import GEOGRAPHIES, MEASURES
from .own import keep_lead_areas
from .tables import TARGETS, named, names_statement, targets_statement

NAME, TARGET, PROVISION, OWN = 0, 1, 2, 3

# Every part's rows in the same columns (NULL where a part has nothing to say), typed as
# the columns they come from: a database matches each column's type across the parts,
# and gives back the same values as when each part is read alone.
COLUMNS = {
    "kind": sa.Integer(),
    "code": sa.String(),
    "name": sa.String(),
    "value": sa.Float(),
    "start": sa.Date(),
    "end": sa.Date(),
    "population": sa.Integer(),
    "services": sa.Integer(),
    # The rest of a council area's columns, for a lead's own.
    "id": sa.Integer(),
    "adp_id": sa.Integer(),
    "police_division_id": sa.Integer(),
    "health_board_id": sa.Integer(),
    "latitude": sa.Float(),
    "longitude": sa.Float(),
    "edited_at": UTCDateTime(),
}
REST = tuple(COLUMNS)[8:]
AREA_COLUMNS = ("code", "name", "population", *REST)


@dataclass
class AreaLookups:
    names: list[tuple] | None = None  # as ``area_names`` gives them; None when not read here
    targets: list[tuple] | None = None  # as ``targets_statement`` reads them; None: not read
    provision: dict = field(default_factory=dict)  # as ``services_per_area`` gives it


def _part(kind: int, source, **columns) -> sa.Select:
    values = [sa.literal_column(str(kind)).label("kind")]
    values += [
        columns.get(name, sa.cast(sa.null(), type_)).label(name)
        for name, type_ in COLUMNS.items()
        if name != "kind"
    ]
    return sa.select(*values).select_from(source)


@functools.cache
def _statement(grouping: str, measure_kind: str | None, own: bool) -> sa.Select | None:
    """The look-ups in one statement, built once per process: the names of ``grouping``'s
    areas when ``tables`` reads them by statement, the targets of a measure of
    ``measure_kind`` unless None, services per area when ``provision`` has them for the
    grouping, and the lead's councils when ``own``; None when there is nothing to read."""
    parts = []
    names = names_statement(grouping)
    if names is not None:
        rows = names[0].subquery()
        parts.append(_part(NAME, rows, code=rows.c[1], name=rows.c[2]))
    if measure_kind is not None:
        rows = TARGETS[measure_kind].order_by(None).subquery()
        parts.append(
            _part(
                TARGET,
                rows,
                code=rows.c.area_code,
                value=rows.c.value,
                start=rows.c.period_start,
                end=rows.c.period_end,
            )
        )
    if grouping in provision.KEYS:
        rows = provision.STATEMENTS[grouping].subquery()
        parts.append(
            _part(
                PROVISION,
                rows,
                code=rows.c.code,
                population=rows.c.population,
                services=rows.c.services,
            )
        )
    if own:
        mine = sa.join(CouncilArea, user_areas, user_areas.c.council_area_id == CouncilArea.id)
        area = {name: getattr(CouncilArea, name) for name in AREA_COLUMNS}
        parts.append(_part(OWN, mine, **area).where(user_areas.c.user_id == sa.bindparam("user")))
    if not parts:
        return None
    rows = sa.union_all(*parts).subquery()
    # A lead's councils by name, as their ``areas`` are read.
    return sa.select(
        *[sa.type_coerce(rows.c[name], type_).label(name) for name, type_ in COLUMNS.items()]
    ).order_by(rows.c.kind, rows.c.name)


def area_lookups(session: Session, user, choices) -> AreaLookups:
    """The area table's look-ups for ``choices`` (``params.Choices``) and ``user`` (an area
    lead's own council areas become their ``areas``, as if read: ``own.keep_lead_areas``)."""
    grouping, facts = choices.grouping, choices.period_facts
    with_targets = grouping in (*GEOGRAPHIES, "scheme") and bool(facts)
    params: dict = {}
    names = names_statement(grouping)
    if names is not None:
        params |= names[1]
    measure_kind = None
    if with_targets:
        measure_kind = MEASURES[choices.measure].kind
        params |= targets_statement(grouping, facts, choices.measure)[1]
    own = user.role == Role.LEAD and "areas" in sa.inspect(user).unloaded
    if own:
        params["user"] = user.id
    found = AreaLookups(
        names=[] if names is not None else None, targets=[] if with_targets else None
    )
    statement = _statement(grouping, measure_kind, own)
    if statement is None:
        return found
    counts, councils = [], []
    # Plain rows, read through the connection: none of the ORM's work on results.
    for row in session.connection().execute(statement, params).all():
        kind, code, name, value, start, end, population, services, *rest = row
        if kind == NAME:
            found.names.append((code, code, name))
        elif kind == TARGET:
            found.targets.append((code, value, start, end))
        elif kind == PROVISION:
            counts.append((code, population, services))
        else:
            councils.append(
                dict(zip(REST, rest, strict=True), code=code, name=name, population=population)
            )
    if found.names is not None:
        found.names = named(grouping, found.names)
    if found.targets:
        found.targets.sort(key=_starting)
    if grouping in provision.KEYS:
        found.provision = provision.per_area(grouping, counts)
    if own:
        keep_lead_areas(session, user, councils)
    return found


def _starting(target: tuple) -> dt.date:
    return target[2]
