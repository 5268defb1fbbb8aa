"""Person-level lists a page at a time, by keyset.

A page starts just after (or just before) the row a link names, comparing the pair
(sort column, id) with that row's, so the database walks an index on
``(..., sort column, id)`` from that point and reads one page and one row more: the
thousandth page costs what the first does, and nothing sorts a whole history. Links
carry only the id of the row at the edge of the page; the row's sort value is read in
the same statement. A list never says "page 7 of 40" (that needs a count of everything
before it); it says how many match, up to a cap, and offers newer and older pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .database import as_id

COUNT_CAP = 1000  # "more than 1,000 match" costs what counting 1,000 does


@dataclass
class Window:
    rows: list[Any]
    newer: int | None  # id to pass as ``before`` for the page before; None on the first
    older: int | None  # id to pass as ``after`` for the next page; None on the last


def page(
    session: Session,
    query: sa.Select,
    *,
    sort: sa.ColumnElement,
    ident: sa.ColumnElement,
    after: object = None,
    before: object = None,
    per_page: int,
    newest_first: bool = True,
    first_page: sa.Select | None = None,
    pivot_scope: sa.ColumnElement[bool] | None = None,
) -> Window:
    """One page of ``query`` (a ``select`` of one entity, or of columns one of which is
    ``id``, already filtered) ordered by
    ``(sort, ident)``, newest first unless told otherwise; starting after the row with id
    ``after``, or ending before the row with id ``before``. One statement: for the first
    page, ``first_page`` when given (``first_page_statement``'s, built once by the
    caller and kept). ``pivot_scope`` is the condition the row a link names must meet
    (the user's scope): one outside it gives an empty page, exactly as an unknown id
    does, rather than a page placed by a record the user may not see."""
    after, before = as_id(after), as_id(before)
    pivot = after or before
    backwards = before is not None and after is None
    # Going "forwards" means in the list's own order; "backwards" reads the other way
    # from the pivot and turns the rows round.
    descending = newest_first != backwards
    if pivot is not None:
        named = [ident == pivot] if pivot_scope is None else [ident == pivot, pivot_scope]
        pivot_sort = sa.select(sort).where(*named).correlate(None).scalar_subquery()
        key, value = sa.tuple_(sort, ident), sa.tuple_(pivot_sort, pivot)
        query = query.where(key < value if descending else key > value)
    if pivot is None and first_page is not None:
        ordered = first_page
    else:
        order = (sort.desc(), ident.desc()) if descending else (sort.asc(), ident.asc())
        ordered = query.order_by(*order).limit(per_page + 1)
    if len(query.column_descriptions) > 1:  # plain rows, each with an ``id``
        # Columns need none of the ORM's work on results: read through the connection.
        rows = session.connection().execute(ordered).all()
    else:
        rows = list(session.scalars(ordered).unique())
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
        return Window(rows, rows[0].id if more and rows else None, rows[-1].id if rows else None)
    return Window(
        rows,
        rows[0].id if pivot is not None and rows else None,
        rows[-1].id if more else None,
    )


def first_page_statement(
    query: sa.Select,
    *,
    sort: sa.ColumnElement,
    ident: sa.ColumnElement,
    per_page: int,
    newest_first: bool = True,
) -> sa.Select:
    """The statement ``page`` runs for the first page of ``query``, for a caller to build
    once and pass back as ``first_page``."""
    order = (sort.desc(), ident.desc()) if newest_first else (sort.asc(), ident.asc())
    return query.order_by(*order).limit(per_page + 1)


def capped_count(session: Session, query: sa.Select, cap: int = COUNT_CAP) -> int:
    """How many rows ``query`` matches, counting no further than ``cap + 1``."""
    return session.scalar(capped_count_query(query, cap))


def capped_count_query(query: sa.Select, cap: int = COUNT_CAP) -> sa.Select:
    """``capped_count`` as a query, to read as a column of another statement (with
    ``.scalar_subquery()``) instead of sending it apart."""
    limited = query.with_only_columns(sa.literal(1)).order_by(None).limit(cap + 1).subquery()
    return sa.select(sa.func.count()).select_from(limited)
