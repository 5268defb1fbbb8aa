"""Lists that a system reads a page at a time while they change: a cursor names where the
next page starts, as the last item given (its id and, in a list ordered by change, its
time), so the page is found along an index however far in it is, and no item is skipped
when others leave the list or change meanwhile: a referral changed moves to the end of
its list (and is given again), a service closed simply is not given, and neither shifts
the pages after it."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..clock import now_utc
from .params import ApiError, Paging, arg, bad


def settled_before() -> dt.datetime:
    """Where a list of changes ends: ``API_CHANGES_SETTLE_SECONDS`` ago. A change is
    stamped (``updated_at``) when it is written but seen only once committed, so one
    stamped a moment before another can be seen after it; a reader given the newest
    changes would ask next from past it, and never be given it. Every change stamped
    before this time is committed by now, so a list ending here leaves none behind."""
    return now_utc() - dt.timedelta(seconds=current_app.config["API_CHANGES_SETTLE_SECONDS"])


def _problem(timed: bool) -> str:
    since = "changed_since" if timed else "modified_after"
    return f"is not one this API gave for this list: start again without it, or from {since}"


@dataclass(frozen=True)
class Cursor:
    """The last item given (its time, in a list ordered by change, and its id) and the
    number of the page after it."""

    changed: dt.datetime | None
    id: int
    page: int

    def token(self) -> str:
        parts = [self.id, self.page]
        if self.changed is not None:
            parts.insert(0, self.changed.isoformat())
        text = "|".join(str(part) for part in parts)
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str, timed: bool) -> Cursor:
        """The cursor ``token`` names: one of a list ordered by change (``timed``), or
        by id alone."""
        try:
            padded = token + "=" * (-len(token) % 4)
            *changed, item, page = base64.urlsafe_b64decode(padded).decode().split("|")
            if len(changed) != int(timed):
                raise ValueError
            when = dt.datetime.fromisoformat(changed[0]) if timed else None
            found = cls(when, int(item), int(page))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise bad("cursor", _problem(timed)) from None
        if (
            (found.changed is not None and found.changed.tzinfo is None)
            or not 1 <= found.id < 2**63
            or not 1 < found.page <= 10**6
        ):
            raise bad("cursor", _problem(timed))
        return found


def cursor_arg(*, timed: bool) -> Cursor | None:
    """``cursor`` from the query string; refused beside ``page``."""
    token = arg("cursor")
    if not token:
        return None
    if arg("page"):
        raise ApiError(
            400, "Send cursor or page, not both.", {"cursor": "send cursor or page, not both"}
        )
    return Cursor.parse(token, timed)


@dataclass(frozen=True)
class CursorPage:
    total: int
    paging: Paging
    ids: list[int]
    next: Cursor | None


def page_after(
    session: Session,
    ids: sa.Select,
    changed: sa.ColumnElement | None,
    key: sa.ColumnElement,
    paging: Paging,
    cursor: Cursor | None,
) -> CursorPage:
    """The page of ``ids`` (ordered by ``changed``, then ``key``; with no ``changed``, by
    ``key`` alone) after ``cursor``, or the page ``paging`` names when there is none;
    with the total of the whole list and the cursor of the page after it (None on the
    last)."""
    total = session.scalar(sa.select(sa.func.count()).select_from(ids.order_by(None).subquery()))
    columns = [key] if changed is None else [key, changed]
    rows = ids.with_only_columns(*columns).limit(paging.per_page + 1)
    if cursor is not None:
        paging = Paging(cursor.page, paging.per_page)
        rows = rows.where(
            key > cursor.id
            if changed is None
            else sa.tuple_(changed, key) > sa.tuple_(cursor.changed, cursor.id)
        )
    elif paging.page > 1:
        rows = rows.offset((paging.page - 1) * paging.per_page)
    found = session.execute(rows).all()
    more = len(found) > paging.per_page
    found = found[: paging.per_page]
    after = None
    if more:
        last = found[-1]
        after = Cursor(last[1] if changed is not None else None, last[0], paging.page + 1)
    return CursorPage(total or 0, paging, [row[0] for row in found], after)
