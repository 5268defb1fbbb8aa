"""The audit log, filtered (read-only: rows are never changed or deleted), newest first, a
page at a time by keyset along the ``(at, id)`` index (see ``keyset.py``)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import render_template, request
from sqlalchemy.orm import joinedload
from wtforms import IntegerField, StringField
from wtforms.validators import Length, Optional

from ..clock import local_zone
from ..extensions import db
from ..forms import QueryForm, UKDateField
from ..keyset import COUNT_CAP, capped_count, page
from ..models import AuditEvent
from . import bp

PER_PAGE = 50


class AuditFilterForm(QueryForm):
    who = StringField("User email contains", validators=[Optional(), Length(max=254)])
    action = StringField("Action", validators=[Optional(), Length(max=60)])
    object_type = StringField("Object type", validators=[Optional(), Length(max=40)])
    object_id = StringField("Object id", validators=[Optional(), Length(max=80)])
    ip = StringField("IP address", validators=[Optional(), Length(max=45)])
    date_from = UKDateField("From", validators=[Optional()])
    date_to = UKDateField("To", validators=[Optional()])
    after = IntegerField(validators=[Optional()])  # older than this entry
    before = IntegerField(validators=[Optional()])  # newer than this entry


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), local_zone()).astimezone(dt.UTC)


@bp.get("/audit")
def audit():
    form = AuditFilterForm(request.args)
    query = sa.select(AuditEvent)
    valid = form.validate() if request.args else True
    if valid:
        if form.who.data:
            query = query.where(AuditEvent.actor.like(f"%{form.who.data.strip().lower()}%"))
        if form.action.data:
            query = query.where(AuditEvent.action == form.action.data.strip())
        if form.object_type.data:
            query = query.where(AuditEvent.object_type == form.object_type.data.strip())
        if form.object_id.data:
            query = query.where(AuditEvent.object_id == form.object_id.data.strip())
        if form.ip.data:
            query = query.where(AuditEvent.ip == form.ip.data.strip())
        if form.date_from.data:
            query = query.where(AuditEvent.at >= _local_midnight(form.date_from.data))
        if form.date_to.data:
            end = form.date_to.data + dt.timedelta(days=1)
            query = query.where(AuditEvent.at < _local_midnight(end))
    total = capped_count(db.session, query)
    found = page(
        db.session,
        query.options(joinedload(AuditEvent.user)),
        sort=AuditEvent.at,
        ident=AuditEvent.id,
        after=form.after.data if valid else None,
        before=form.before.data if valid else None,
        per_page=PER_PAGE,
    )
    actions = db.session.scalars(
        sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    return (
        render_template(
            "admin/audit.html",
            form=form,
            rows=found.rows,
            found=found,
            total=total,
            cap=COUNT_CAP,
            link_args={
                k: v for k, v in request.args.items() if v and k not in ("after", "before")
            },
            actions=actions,
        ),
        200 if valid else 400,
    )
