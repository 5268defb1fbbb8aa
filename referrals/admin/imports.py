"""Importing services from an uploaded CSV file.

All or nothing: a file with a bad row, or one the database refuses as it is saved, leaves
the directory as it was, and the page says why.
"""

from __future__ import annotations

import io

from flask import current_app, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from werkzeug.datastructures import FileStorage

from ..audit import record
from ..clock import today_local
from ..directory.exchange import COLUMNS, REQUIRED, ImportReport, import_services
from ..extensions import db
from . import bp

# Each note is a message kept in the session cookie until it is shown: a few, not
# thousands.
NOTES_SHOWN = 20


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
    report = refused = None
    if form.validate_on_submit():
        try:
            report = _import_upload(form.file.data)
        except (DataError, IntegrityError) as exc:
            # The file's content refused (an outage is not: it is the 503 page's).
            db.session.rollback()
            current_app.logger.exception("The database refused a services import")
            refused = _database_said(exc)
        else:
            if report.ok:
                _flash_imported(report)
                return redirect(url_for("admin.import_services"))
            db.session.rollback()
    status = 400 if form.is_submitted() else 200
    return (
        render_template(
            "admin/import_services.html",
            form=form,
            report=report,
            refused=refused,
            columns=COLUMNS,
            required=REQUIRED,
        ),
        status,
    )


def _import_upload(upload: FileStorage) -> ImportReport:
    """Check and import the file, committing only if every row is good."""
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
            detail={"created": report.created, "updated": report.updated, "notes": report.notes},
        )
        db.session.commit()
    return report


def _flash_imported(report: ImportReport) -> None:
    flash(
        f"Imported {report.rows} rows: {report.created} services created, "
        f"{report.updated} updated.",
        "success",
    )
    for note in report.notes[:NOTES_SHOWN]:
        flash(note, "warning")
    if len(report.notes) > NOTES_SHOWN:
        flash(
            f"…and {len(report.notes) - NOTES_SHOWN} more services whose address or status "
            "changed.",
            "warning",
        )


def _database_said(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
