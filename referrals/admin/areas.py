"""``/admin/areas``: the council areas and their ADPs, police divisions and health boards."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..choices import AreaGroupKind
from ..clock import now_utc
from ..database import as_id
from ..directory.forms import DecimalNumberField, WholeNumberField
from ..extensions import db
from ..forms import options
from ..models import AreaGroup, CouncilArea
from . import bp
from .area_edits import (
    AreaProblem,
    CouncilValues,
    geography,
    group_noun,
    group_options,
    save_council,
    save_group,
)


class CouncilForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[DataRequired("Enter the council area's name."), Length(max=200)],
    )
    code = StringField(
        "Code",
        validators=[
            DataRequired("Enter the code, like S12000049."),
            Length(max=16, message="Use at most 16 characters."),
        ],
    )
    # Checked against the groups by save_council, which names the one that is wrong.
    adp_id = SelectField(
        "Alcohol and Drug Partnership",
        coerce=as_id,
        validate_choice=False,
        validators=[InputRequired("Choose the Alcohol and Drug Partnership.")],
    )
    police_division_id = SelectField(
        "Police division",
        coerce=as_id,
        validate_choice=False,
        validators=[InputRequired("Choose the police division.")],
    )
    health_board_id = SelectField(
        "Health board",
        coerce=as_id,
        validate_choice=False,
        validators=[InputRequired("Choose the health board.")],
    )
    population = WholeNumberField(
        "Population",
        validators=[
            Optional(),
            NumberRange(0, 100_000_000, "Enter a population from 0 to 100,000,000."),
        ],
    )
    latitude = DecimalNumberField(
        "Latitude of the centre",
        validators=[
            InputRequired("Enter the latitude, like 55.8642."),
            NumberRange(-90, 90, "Enter a latitude from -90 to 90."),
        ],
    )
    longitude = DecimalNumberField(
        "Longitude of the centre",
        validators=[
            InputRequired("Enter the longitude, like -4.2518."),
            NumberRange(-180, 180, "Enter a longitude from -180 to 180."),
        ],
    )


class GroupForm(FlaskForm):
    kind = SelectField(
        "Kind of area",
        choices=options(AreaGroupKind.choices()),
        validators=[DataRequired("Choose the kind of area.")],
    )
    name = StringField("Name", validators=[DataRequired("Enter the name."), Length(max=200)])
    code = StringField(
        "Code",
        validators=[
            DataRequired("Enter the code."),
            Length(max=32, message="Use at most 32 characters."),
        ],
    )


def _council_choices(form: CouncilForm) -> None:
    for field, kind in (
        (form.adp_id, AreaGroupKind.ADP),
        (form.police_division_id, AreaGroupKind.POLICE_DIVISION),
        (form.health_board_id, AreaGroupKind.HEALTH_BOARD),
    ):
        field.choices = options([("", f"Choose the {group_noun(kind)}")])
        field.choices += options(group_options(db.session, kind))


@bp.get("/areas")
def areas():
    return render_template("admin/areas.html", geography=geography(db.session))


@bp.route("/areas/new", methods=["GET", "POST"])
@bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
def edit_area(area_id: int | None = None):
    council = None
    if area_id is not None:
        council = db.session.get(CouncilArea, area_id)
        if council is None:
            abort(404)
    form = CouncilForm(obj=council)
    _council_choices(form)
    if form.validate_on_submit():
        values = CouncilValues(
            name=form.name.data,
            code=form.code.data,
            adp_id=form.adp_id.data,
            police_division_id=form.police_division_id.data,
            health_board_id=form.health_board_id.data,
            population=form.population.data,
            latitude=form.latitude.data,
            longitude=form.longitude.data,
        )
        try:
            saved = save_council(db.session, council, values, now_utc())
        except AreaProblem as problem:
            db.session.rollback()
            getattr(form, problem.field).errors.append(str(problem))
        else:
            db.session.commit()
            flash(f"Saved {saved.name} ({saved.code}).", "success")
            return redirect(url_for("admin.areas"))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/area_form.html", form=form, council=council), status


@bp.route("/areas/groups/new", methods=["GET", "POST"])
@bp.route("/areas/groups/<int:group_id>", methods=["GET", "POST"])
def edit_group(group_id: int | None = None):
    group = None
    if group_id is not None:
        group = db.session.get(AreaGroup, group_id)
        if group is None:
            abort(404)
    form = GroupForm(obj=group)
    if group is not None:
        form.kind.data = group.kind.value  # a group keeps its kind
    if form.validate_on_submit():
        try:
            saved = save_group(
                db.session,
                group,
                AreaGroupKind(form.kind.data),
                form.name.data,
                form.code.data,
                now_utc(),
            )
        except AreaProblem as problem:
            db.session.rollback()
            getattr(form, problem.field).errors.append(str(problem))
        else:
            db.session.commit()
            flash(f"Saved {saved.name} ({saved.code}).", "success")
            return redirect(url_for("admin.areas") + f"#{saved.kind.value}")
    status = 400 if form.is_submitted() else 200
    return render_template("admin/area_group_form.html", form=form, group=group), status
