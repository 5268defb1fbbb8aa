"""``/admin/subject-access``: find one person's referrals by custody record number and
download everything held about them. Administrators only; every search and download
is audited (with the referrals found, never the number searched for). The number is
sent in the form body, so it stays out of addresses and server logs."""

from __future__ import annotations

import json

from flask import Response, render_template, request
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ..audit import record
from ..auth.access import role_required
from ..choices import Role
from ..clock import now_utc
from ..extensions import db
from . import bp
from .subject_access import export, referrals_of


class SubjectAccessForm(FlaskForm):
    person_ref = StringField(
        "Custody record number",
        validators=[
            DataRequired("Enter the custody record number."),
            Length(max=40, message="Use at most 40 characters."),
        ],
    )


@bp.route("/admin/subject-access", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def subject_access():
    form = SubjectAccessForm()
    found = None
    if form.validate_on_submit():
        found = referrals_of(db.session, form.person_ref.data)
        ids = [r.id for r in found]
        if "download" in request.form and found:
            data = export(db.session, found, now_utc())
            record("subject_access_exported", object_type="referrals", detail={"ids": ids})
            db.session.commit()
            response = Response(
                json.dumps(data, indent=2, ensure_ascii=False), mimetype="application/json"
            )
            response.headers["Content-Disposition"] = (
                f'attachment; filename="subject-access-{now_utc():%Y-%m-%d}.json"'
            )
            return response
        record("subject_access_searched", object_type="referrals", detail={"ids": ids})
        db.session.commit()
    status = 400 if form.is_submitted() and form.errors else 200
    return render_template("privacy/subject_access.html", form=form, found=found), status
