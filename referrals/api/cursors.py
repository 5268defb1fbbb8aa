"""Lists that a system reads a page at a time while they change: a cursor names where the
next page starts, as the (time, id) of the last item given, so the page is found along an
index however far in it is, and an item changed meanwhile moves to the end of the list
(and is given again) instead of shifting the pages and being skipped."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .params import ApiError, Paging, arg, bad

CURSOR_PROBLEM = "is not one this API gave: start again without it, or from changed_since"


@dataclass(frozen=True)
class Cursor:
    """The last item given (its time and id) and the number of the page after it."""

    changed: dt.datetime
    id: int
    page: int

    def token(self) -> str:
        text = f"{self.changed.isoformat()}|{self.id}|{self.page}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            changed, item, page = base64.urlsafe_b64decode(padded).decode().split("|")
            found = cls(dt.datetime.fromisoformat(changed), int(item), int(page))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise bad("cursor", CURSOR_PROBLEM) from None
        if (
            found.changed.tzinfo is None
            or not 1 <= found.id < 2**63
            or not 1 < found.page <= 10**6
        ):
            raise bad("cursor", CURSOR_PROBLEM)
        return found


def cursor_arg() -> Cursor | None:
    """``cursor`` from the query string; refused beside ``page``."""
    token = arg("cursor")
    if not token:
        return None
    if arg("page"):
        raise ApiError(
            400, "Send cursor or page, not both.", {"cursor": "send cursor or page, not both"}
        )
    return Cursor.parse(token)


@dataclass(frozen=True)
class CursorPage:
    total: int
    paging: Paging
    ids: list[int]
    next: Cursor | None


def page_after(
    session: Session,
    ids: sa.Select,
    changed: sa.ColumnElement,
    key: sa.ColumnElement,
    paging: Paging,
    cursor: Cursor | None,
) -> CursorPage:
    """The page of ``ids`` (ordered by ``changed``, then ``key``) after ``cursor``, or the
    page ``paging`` names when there is none; with the total of the whole list and the
    cursor of the page after it (None on the last)."""
    total = session.scalar(sa.select(sa.func.count()).select_from(ids.order_by(None).subquery()))
    rows = ids.with_only_columns(key, changed).limit(paging.per_page + 1)
    if cursor is not None:
        paging = Paging(cursor.page, paging.per_page)
        rows = rows.where(sa.tuple_(changed, key) > sa.tuple_(cursor.changed, cursor.id))
    elif paging.page > 1:
        rows = rows.offset((paging.page - 1) * paging.per_page)
    found = session.execute(rows).all()
    more = len(found) > paging.per_page
    found = found[: paging.per_page]
    after = None
    if more:
        last_id, last_changed = found[-1]
        after = Cursor(last_changed, last_id, paging.page + 1)
    return CursorPage(total or 0, paging, [row[0] for row in found], after)
