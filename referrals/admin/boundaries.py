"""Uploading council area boundaries for the area map."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..audit import record
from ..extensions import db
from ..models import AreaBoundary
from ..reports.boundaries import BoundaryFileError, import_boundaries
from . import bp


class BoundaryForm(FlaskForm):
    file = FileField(
        "Boundaries file (GeoJSON)",
        validators=[
            FileRequired("Choose a GeoJSON file."),
            FileAllowed(["geojson", "json"], "Upload a .geojson or .json file."),
        ],
    )
    code_property = StringField(
        "Property holding the council's GSS code",
        validators=[
            DataRequired("Enter the name of the property, for example CA19CD."),
            Length(max=100),
        ],
    )


@bp.route("/boundaries", methods=["GET", "POST"])
def boundaries():
    form = BoundaryForm()
    problem = None
    if form.validate_on_submit():
        try:
            data = json.loads(form.file.data.read().decode("utf-8-sig"))
            report = import_boundaries(db.session, data, form.code_property.data.strip())
        except (json.JSONDecodeError, UnicodeDecodeError):
            problem = "The file is not GeoJSON: it could not be read as JSON."
        except BoundaryFileError as exc:
            problem = f"Nothing was loaded: {exc}."
        else:
            record(
                "boundaries_imported",
                object_type="file",
                object_id=form.file.data.filename,
                detail={"loaded": report.loaded},
            )
            db.session.commit()
            flash(
                f"Loaded boundaries for {report.loaded} council areas "
                f"({report.points_after:,} points after simplifying).",
                "success",
            )
            return redirect(url_for("admin.boundaries"))
        db.session.rollback()
    loaded = db.session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/boundaries.html", form=form, problem=problem, loaded=loaded
    ), status
