"""The audit log, filtered (read-only: rows are never changed or deleted)."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from flask import render_template, request
from sqlalchemy.orm import selectinload
from wtforms import StringField
from wtforms.validators import Length, Optional

from ..clock import local_zone
from ..extensions import db
from ..forms import QueryForm, UKDateField
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
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = db.session.scalars(
        query.options(selectinload(AuditEvent.user))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    actions = db.session.scalars(
        sa.select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    ).all()
    return (
        render_template(
            "admin/audit.html",
            form=form,
            rows=rows,
            total=total,
            page=page,
            pages=pages,
            actions=actions,
        ),
        200 if valid else 400,
    )
