"""How the directory's lists answer: a page in the HSDS envelope, found by its number
(as HSDS asks) or after a cursor, or with ``format=ndjson`` every item, one JSON object
a line.

A list ordered by its id alone is read along that id: a page after a cursor, and each
batch of a stream, starts after the last id given. An item that leaves the list
meanwhile (closed, or its address made confidential) therefore shifts nothing, and no
item listed throughout is missed, as it would be if later pages were counted from the
start (page numbers are: a system keeping a copy should follow the cursors, or ask
for what changed with ``modified_after``). A list in another order (nearest first,
worked out before: ``order``) is streamed through the ids it held when the stream
began, each batch checked again against the list's conditions so that nothing which
has left it is sent; its pages are found by number only, taken from that order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from flask import Response, json, jsonify, stream_with_context
from sqlalchemy.orm import Session

from .cursors import Cursor, page_after
from .params import STREAM_BATCH, Paging, arg, bad, page_body

# A cursor sent to a list in an order other than by id alone.
NO_CURSOR = "cannot continue a list in this order: ask for pages by number"

NDJSON = "application/x-ndjson"


def page_of(session: Session, ids: sa.Select, paging: Paging) -> tuple[int, list]:
    """The total count of ``ids`` (an ordered query of ids) and the ids on the page."""
    total = session.scalar(sa.select(sa.func.count()).select_from(ids.order_by(None).subquery()))
    found = list(
        session.scalars(ids.offset((paging.page - 1) * paging.per_page).limit(paging.per_page))
    )
    return total or 0, found


def _batches(
    session: Session, ids: sa.Select, key: sa.ColumnElement | None, order: list | None
) -> Iterator[list]:
    """Every id of ``ids``, a batch at a time: after the last one given, when the list is
    ordered by ``key``; otherwise from the list as it was at the start (``order``, or
    ``ids`` as read now), less any that have left it since."""
    if key is not None:
        batch = list(session.scalars(ids.limit(STREAM_BATCH)))
        while batch:
            yield batch
            batch = list(session.scalars(ids.where(key > batch[-1]).limit(STREAM_BATCH)))
        return
    column = ids.selected_columns[0]
    if order is None:
        order = list(session.scalars(ids))
    for start in range(0, len(order), STREAM_BATCH):
        batch = order[start : start + STREAM_BATCH]
        still = set(session.scalars(ids.where(column.in_(batch)).order_by(None)))
        yield [item for item in batch if item in still]


def listing(
    session: Session,
    ids: sa.Select,
    load: Callable[[list], list],
    as_json: Callable[[Any], dict],
    paging: Paging,
    *,
    key: sa.ColumnElement | None,
    cursor: Cursor | None = None,
    ndjson: bool = False,
    order: list | None = None,
) -> Response:
    """A page of ``ids`` as JSON, or (``ndjson``) all of them, one per line, streamed in
    batches. ``key`` is the column the list is ordered by alone (None when it is in
    another order): its pages then name the cursor of the next. ``order``: the ids of
    the list, in its order, already worked out (nearest first). A cursor is refused
    where it cannot be followed: in another order, or in a stream (the whole list)."""
    if cursor is not None and key is None:
        raise bad("cursor", NO_CURSOR)
    if cursor is not None and ndjson:
        raise bad("cursor", "a stream is the whole list: send no cursor")
    if ndjson:

        def lines():
            for batch in _batches(session, ids, key, order):
                for item in load(batch):
                    yield json.dumps(as_json(item)) + "\n"

        return Response(stream_with_context(lines()), mimetype=NDJSON)
    if key is None:
        if order is not None:
            start = (paging.page - 1) * paging.per_page
            total, page_ids = len(order), order[start : start + paging.per_page]
        else:
            total, page_ids = page_of(session, ids, paging)
        return jsonify(page_body(total, paging, [as_json(item) for item in load(page_ids)]))
    page = page_after(session, ids, None, key, paging, cursor)
    body = page_body(page.total, page.paging, [as_json(item) for item in load(page.ids)])
    body["next_cursor"] = page.next.token() if page.next else None
    body["last_page"] = page.next is None
    return jsonify(body)


def listed(items: list[dict], paging: Paging, ndjson: bool) -> Response:
    """A short list already in hand (the one taxonomy), answered as the others are."""
    if arg("cursor"):
        raise bad("cursor", NO_CURSOR)  # one taxonomy, in no order a cursor follows
    if ndjson:
        return Response("".join(json.dumps(item) + "\n" for item in items), mimetype=NDJSON)
    start = (paging.page - 1) * paging.per_page
    return jsonify(page_body(len(items), paging, items[start : start + paging.per_page]))
