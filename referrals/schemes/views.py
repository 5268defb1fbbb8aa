"""Admin pages for arrest referral schemes: the list, a new scheme, changing one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for

from ..auth.access import role_required
from ..choices import Role
from ..database import as_id
from ..extensions import db
from ..forms import options
from . import bp
from .forms import SchemeForm
from .managing import (
    SchemeProblem,
    name_or_code_taken,
    organisation_options,
    save_scheme,
    scheme_rows,
    suite_options,
    suites_without_scheme,
)
from .models import Scheme


@bp.before_request
@role_required(Role.ADMIN)
def admins_only():
    return None


@bp.get("/")
def index():
    return render_template(
        "schemes/index.html",
        rows=scheme_rows(db.session),
        unserved=suites_without_scheme(db.session),
    )


def _form_page(scheme: Scheme | None):
    form = SchemeForm()
    form.organisation_id.choices = options(
        [("", "Choose the provider"), *organisation_options(db.session)]
    )
    form.suite_ids.choices = options(suite_options(db.session, scheme))
    if not form.is_submitted():
        form.active.data = True
        if scheme is not None:
            form.name.data, form.code.data = scheme.name, scheme.code
            form.organisation_id.data = str(scheme.organisation_id)
            form.suite_ids.data = [str(s.id) for s in scheme.suites]
            form.active.data = scheme.active
        return render_template("schemes/form.html", form=form, scheme=scheme)
    if form.validate():
        name, code = form.name.data.strip(), form.code.data.strip().upper()
        taken = name_or_code_taken(db.session, name, code, scheme.id if scheme else None)
        if "name" in taken:
            form.name.errors.append("Another scheme already has this name.")
        if "code" in taken:
            form.code.errors.append("Another scheme already has this code.")
        if not taken:
            try:
                saved, moved = save_scheme(
                    db.session,
                    scheme,
                    name=name,
                    code=code,
                    organisation_id=int(form.organisation_id.data),
                    suite_ids=[int(i) for i in form.suite_ids.data or []],
                    active=bool(form.active.data),
                )
            except SchemeProblem as problem:
                getattr(form, problem.field).errors.append(str(problem))
                return render_template("schemes/form.html", form=form, scheme=scheme), 400
            db.session.commit()
            message = f"Saved {saved.name}."
            for other, suites in sorted(moved.items()):
                message += f" Moved from {other}: {', '.join(sorted(suites))}."
            flash(message, "success")
            return redirect(url_for("schemes.index"))
    return render_template("schemes/form.html", form=form, scheme=scheme), 400


@bp.route("/new", methods=["GET", "POST"])
def new_scheme():
    return _form_page(None)


@bp.route("/<int:scheme_id>", methods=["GET", "POST"])
def edit_scheme(scheme_id: int):
    scheme = db.session.get(Scheme, as_id(scheme_id))
    if scheme is None:
        abort(404)
    return _form_page(scheme)
