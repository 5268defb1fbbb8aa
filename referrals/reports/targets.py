"""Local targets: area leads set them for their own areas, administrators for any."""

from __future__ import annotations

import datetime as dt
import math

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from wtforms import DecimalField, SelectField
from wtforms.validators import DataRequired, InputRequired, NumberRange, StopValidation

from ..audit import record
from ..choices import Geography, Role
from ..extensions import db
from ..forms import UKDateField, options
from ..models import AreaGroup, CouncilArea, Target, utcnow
from . import bp
from .measures import MEASURES
from .scheme_groups import scheme_names


def allowed_areas(user) -> dict[tuple[str, str], str]:
    """(geography, area code) -> name: the areas ``user`` may set targets for. Leads: their
    council areas, and any group whose councils are all theirs; administrators: every area
    and every arrest referral scheme."""
    councils = db.session.execute(
        sa.select(
            CouncilArea.id,
            CouncilArea.code,
            CouncilArea.name,
            CouncilArea.adp_id,
            CouncilArea.police_division_id,
            CouncilArea.health_board_id,
        )
    ).all()
    groups = {g.id: g for g in db.session.scalars(sa.select(AreaGroup))}
    mine = {c.id for c in councils} if user.role == Role.ADMIN else {a.id for a in user.areas}
    allowed = {("council", c.code): c.name for c in councils if c.id in mine}
    for index, kind in ((3, "adp"), (4, "police_division"), (5, "health_board")):
        members: dict[int, set[int]] = {}
        for c in councils:
            members.setdefault(c[index], set()).add(c.id)
        for group_id, ids in members.items():
            if ids <= mine:
                group = groups[group_id]
                allowed[(kind, group.code)] = group.name
    if user.role == Role.ADMIN:  # schemes cut across councils: administrators set theirs
        for _, code, name in scheme_names(db.session):
            allowed[("scheme", code)] = name
    return allowed


def _finite(form, field) -> None:
    """A number the target can be ("NaN", "Infinity" and "1e999" read as numbers too)."""
    if field.data is not None and not (
        field.data.is_finite() and math.isfinite(float(field.data))
    ):
        raise StopValidation("Enter the target as a number, like 75 or 12.5.")


class TargetForm(FlaskForm):
    area = SelectField("Area", choices=[], validators=[DataRequired("Choose the area.")])
    measure = SelectField(
        "Measure",
        choices=options((m.code, m.label) for m in MEASURES.values()),
        validators=[DataRequired("Choose the measure.")],
    )
    period_start = UKDateField(
        "Period from",
        validators=[InputRequired("Enter the first day of the target period, like 2026-04-01.")],
    )
    period_end = UKDateField(
        "Period to",
        validators=[InputRequired("Enter the last day of the target period, like 2027-03-31.")],
    )
    value = DecimalField(
        "Target",
        validators=[
            InputRequired(
                "Enter the target: a percentage for rates, a number of "
                "referrals or days otherwise."
            ),
            _finite,
            NumberRange(min=0, message="The target cannot be negative."),
        ],
    )


def _area_key(value: str) -> tuple[str, str]:
    geography, _, code = value.partition(":")
    return geography, code


def save_target(
    session: Session,
    *,
    geography: Geography,
    area_code: str,
    measure: str,
    period_start: dt.date,
    period_end: dt.date,
    value: float,
    set_by_id: int,
) -> int:
    """Set the target for an area, measure and period, replacing any there (its end,
    value and setter); returns its id. One statement, so two saves at once keep one
    target, the later, rather than the second failing on the unique key."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = Target.__table__
    changes = {"period_end": period_end, "value": value, "set_by_id": set_by_id}
    statement = dialect.insert(table).values(
        geography=geography,
        area_code=area_code,
        measure=measure,
        period_start=period_start,
        set_at=utcnow(),
        **changes,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[
            table.c.geography,
            table.c.area_code,
            table.c.measure,
            table.c.period_start,
        ],
        set_=changes,
    ).returning(table.c.id)
    return session.execute(statement).scalar_one()


@bp.route("/targets", methods=["GET", "POST"])
def targets():
    allowed = allowed_areas(current_user)
    form = TargetForm()
    labels = {
        "council": "Council",
        "adp": "ADP",
        "police_division": "Police division",
        "health_board": "Health board",
        "scheme": "Arrest referral scheme",
    }
    form.area.choices = options(
        [
            ("", "Choose an area"),
            *[
                (f"{g}:{c}", f"{name} ({labels[g]})")
                for (g, c), name in sorted(
                    allowed.items(), key=lambda i: (i[0][0] != "council", i[1])
                )
            ],
        ]
    )
    if form.validate_on_submit():
        geography, code = _area_key(form.area.data)
        measure = MEASURES[form.measure.data]
        value = float(form.value.data)
        ok = True
        if (geography, code) not in allowed:
            form.area.errors.append("You can only set targets for your own areas.")
            ok = False
        if form.period_start.data > form.period_end.data:
            form.period_end.errors.append("The period must end on or after its first day.")
            ok = False
        if measure.kind == "rate":
            if value > 100:
                form.value.errors.append("A rate target is a percentage from 0 to 100.")
                ok = False
            value = float(form.value.data / 100)  # 0.9 is 0.009, not 0.009000000000000001
        if ok:
            target_id = save_target(
                db.session,
                geography=Geography(geography),
                area_code=code,
                measure=measure.code,
                period_start=form.period_start.data,
                period_end=form.period_end.data,
                value=value,
                set_by_id=current_user.id,
            )
            record(
                "target_set",
                object_type=Target.__tablename__,
                object_id=target_id,
                detail={"area": code, "measure": measure.code, "value": value},
            )
            db.session.commit()
            flash(f"Target saved for {allowed[(geography, code)]}.", "success")
            return redirect(url_for("reports.targets"))
    rows = db.session.scalars(
        sa.select(Target).order_by(Target.area_code, Target.measure, Target.period_start)
    ).all()
    visible = [t for t in rows if (t.geography.value, t.area_code) in allowed]
    status = 400 if form.is_submitted() else 200
    return render_template(
        "reports/targets.html", form=form, targets=visible, names=allowed
    ), status


@bp.post("/targets/<int:target_id>/delete")
def delete_target(target_id: int):
    target = db.session.get(Target, target_id)
    if target is None or (target.geography.value, target.area_code) not in allowed_areas(
        current_user
    ):
        abort(404)
    record(
        "target_deleted",
        target,
        detail={"area": target.area_code, "measure": target.measure.value},
    )
    db.session.delete(target)
    db.session.commit()
    flash("Target removed.", "success")
    return redirect(url_for("reports.targets"))
