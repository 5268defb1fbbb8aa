"""Importing services from an uploaded CSV file."""

from __future__ import annotations

import io

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from ..audit import record
from ..clock import today_local
from ..directory.exchange import COLUMNS, REQUIRED, import_services
from ..extensions import db
from . import bp


class ServicesUploadForm(FlaskForm):
    file = FileField(
        "Services file (CSV)",
        validators=[
            FileRequired("Choose a CSV file to upload."),
            FileAllowed(["csv"], "Upload a .csv file (save the spreadsheet as CSV first)."),
        ],
    )


@bp.route("/imports/services", methods=["GET", "POST"], endpoint="import_services")
def import_services_page():
    form = ServicesUploadForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        # Closing the reader closes the upload too (a temporary file when it is large).
        with io.TextIOWrapper(upload.stream, encoding="utf-8-sig", newline="") as text:
            report = import_services(
                db.session,
                text,
                today_local(),
                max_rows=current_app.config["IMPORT_PAGE_MAX_ROWS"],
            )
        if report.ok:
            record(
                "services_imported",
                object_type="file",
                object_id=upload.filename,
                detail={"created": report.created, "updated": report.updated},
            )
            db.session.commit()
            flash(
                f"Imported {report.rows} rows: {report.created} services created, "
                f"{report.updated} updated.",
                "success",
            )
            return redirect(url_for("admin.import_services"))
        db.session.rollback()
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "admin/import_services.html",
            form=form,
            report=report,
            columns=COLUMNS,
            required=REQUIRED,
        ),
        status,
    )
