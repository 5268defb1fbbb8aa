"""Uploading council area boundaries for the area map (the groups' boundaries are
dissolved from them as they load)."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..attributions import BOUNDARIES, attribution, default_boundaries_attribution
from ..audit import record
from ..extensions import db
from ..models import AreaBoundary, AreaGroupBoundary
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
    attribution = StringField(
        "Attribution shown on maps",
        validators=[
            DataRequired("Enter the attribution the file's licence asks for."),
            Length(max=500, message="Keep the attribution under 500 characters."),
        ],
    )


@bp.route("/boundaries", methods=["GET", "POST"])
def boundaries():
    form = BoundaryForm()
    if not form.is_submitted():
        form.attribution.data = attribution(db.session, BOUNDARIES) or (
            default_boundaries_attribution()
        )
    problem = None
    if form.validate_on_submit():
        try:
            data = json.loads(form.file.data.read().decode("utf-8-sig"))
            report = import_boundaries(
                db.session,
                data,
                form.code_property.data.strip(),
                attribution=form.attribution.data.strip(),
            )
        except (json.JSONDecodeError, UnicodeDecodeError):
            problem = "The file is not GeoJSON: it could not be read as JSON."
        except BoundaryFileError as exc:
            problem = f"Nothing was loaded: {exc}."
        else:
            record(
                "boundaries_imported",
                object_type="file",
                object_id=form.file.data.filename,
                detail={"loaded": report.loaded, "groups": report.groups_loaded},
            )
            db.session.commit()
            flash(
                f"Loaded boundaries for {report.loaded} council areas "
                f"({report.points_after:,} points after simplifying) and "
                f"{report.groups_loaded} areas made of them.",
                "success",
            )
            for message in report.messages:
                flash(message, "info")
            if report.missing_councils:
                flash(
                    f"The file has no boundary for {len(report.missing_councils)} council "
                    f"areas ({', '.join(report.missing_councils[:10])}"
                    f"{', …' if len(report.missing_councils) > 10 else ''}): any boundary "
                    "loaded for them before is kept.",
                    "warning",
                )
            if report.unknown_codes:
                flash(
                    f"Ignored {len(report.unknown_codes)} features with codes that are not "
                    f"council areas here: {', '.join(report.unknown_codes[:10])}.",
                    "info",
                )
            return redirect(url_for("admin.boundaries"))
        db.session.rollback()
    loaded = db.session.scalar(sa.select(sa.func.count()).select_from(AreaBoundary))
    groups = db.session.scalar(sa.select(sa.func.count()).select_from(AreaGroupBoundary))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "admin/boundaries.html", form=form, problem=problem, loaded=loaded, groups=groups
    ), status
