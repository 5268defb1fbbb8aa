"""The quarterly pack pages: ``/reports/pack`` (printable) and ``/reports/pack.pdf``."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Response, abort, current_app, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..audit import record
from ..extensions import db
from . import bp
from .pack import Pack, build_pack, parse_area, quarters
from .pack_access import choices_for, default_for, may_open, may_open_packs
from .params import read_choices
from .pdf import PdfUnavailable
from .pdf_copies import pdf_for
from .views import national_name

PDF_STYLESHEETS = ("css/pack-pdf.css", "css/pack.css")


def _read() -> tuple[object, list, Pack | None, dict[str, str]]:
    """The request's pack, and any problems with the choices (field -> message)."""
    kept = MultiDict({"as_of": request.args["as_of"]} if request.args.get("as_of") else {})
    choices = read_choices(kept)
    snapshot = choices.snapshot
    offered = quarters(snapshot)
    errors: dict[str, str] = {}
    if choices.form.as_of.errors:
        errors["as_of"] = choices.form.as_of.errors[0]
    asked = (request.args.get("quarter") or "").strip().upper()
    quarter = next((q for q in offered if q["code"] == asked), None)
    if asked and quarter is None:
        errors["quarter"] = "Choose a quarter from the list."
    quarter = quarter or (offered[0] if offered else None)
    area = request.args.get("area") or default_for(db.session, current_user)
    if not may_open(db.session, current_user, area):
        abort(403)  # another scheme's or area's pack
    grouping, code = parse_area(area)
    pack = None
    if quarter is not None and not errors:
        pack = build_pack(
            db.session, snapshot, grouping, code, quarter, national_name=national_name()
        )
        if pack is None:
            errors["area"] = "Choose an area from the list."
    return choices, offered, pack, errors


@bp.app_context_processor
def pack_helpers() -> dict:
    return {"may_open_packs": lambda: may_open_packs(db.session, current_user)}


@bp.get("/pack")
def pack():
    choices, offered, found, errors = _read()
    return render_template(
        "reports/pack.html",
        choices=choices,
        quarters=offered,
        pack=found,
        errors=errors,
        areas=choices_for(db.session, current_user, national_name()),
        asked_area=request.args.get("area", ""),
        asked_quarter=request.args.get("quarter", ""),
    ), (400 if errors else 200)


@bp.get("/pack.pdf")
def pack_pdf():
    _, _, found, errors = _read()
    if errors or found is None:
        message = " ".join(errors.values()) or "There are no figures for any quarter yet."
        return Response(message + "\n", status=400, mimetype="text/plain")
    html = render_template("reports/pack_pdf.html", pack=found)
    static = Path(current_app.static_folder or "static")
    try:
        pdf = pdf_for(db.session, html, [static / name for name in PDF_STYLESHEETS])
    except PdfUnavailable:
        current_app.logger.exception("PDF libraries missing")
        return Response(
            "The PDF cannot be made on this server (WeasyPrint's libraries are not "
            "installed). Print the pack from the page instead.\n",
            status=503,
            mimetype="text/plain",
        )
    record(
        "report_exported",
        object_type="report",
        object_id="pack.pdf",
        detail={"area": found.value, "quarter": found.quarter["code"]},
    )
    db.session.commit()
    name = re.sub(r"[^A-Za-z0-9]+", "-", f"{found.name}-{found.quarter['code']}").strip("-")
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="pack-{name.lower()}.pdf"'},
    )
