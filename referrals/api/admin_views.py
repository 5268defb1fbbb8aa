"""``/admin/api-clients``: administrators register systems, rotate and revoke tokens.

A token is shown once, on the page that issues it, and never again: the page is not
cached and the token is not kept anywhere but in the system that receives it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..auth.access import role_required
from ..choices import Role
from ..extensions import db
from ..forms import CHANGED_MEANWHILE, changed_meanwhile, options, state_mark
from ..models import CustodySuite, Organisation, User
from . import clients
from .forms import ApiClientForm, NewApiClientForm, RevokeForm, RotateForm
from .models import ApiClient

admin_bp = Blueprint("api_clients", __name__, url_prefix="/admin/api-clients")


@admin_bp.before_request
@role_required(Role.ADMIN)
def admins_only():
    return None


def _prepare(form: ApiClientForm) -> None:
    form.suite_ids.choices = options(
        (str(s.id), f"{s.name} ({s.code})")
        for s in db.session.scalars(sa.select(CustodySuite).order_by(CustodySuite.name))
    )
    form.organisation_id.choices = options(
        [
            ("", "Choose the organisation"),
            *[
                (str(o.id), o.name)
                for o in db.session.scalars(sa.select(Organisation).order_by(Organisation.name))
            ],
        ]
    )


def _show_problem(form: ApiClientForm, problem: clients.ClientProblem) -> None:
    for name, message in problem.errors.items():
        field = getattr(form, name, None) or form.name
        field.errors = [*field.errors, message]


def _token_page(issued: clients.Issued, first: bool):
    page = render_template("api/token.html", client=issued.client, token=issued.token, first=first)
    return page, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _client_or_404(client_id: int) -> ApiClient:
    client = db.session.scalar(
        sa.select(ApiClient)
        .where(ApiClient.id == client_id)
        .options(
            selectinload(ApiClient.suites),
            selectinload(ApiClient.user).selectinload(User.organisation),
        )
    )
    if client is None:
        abort(404)
    return client


@admin_bp.get("")
def index():
    found = db.session.scalars(
        sa.select(ApiClient)
        .options(
            selectinload(ApiClient.suites),
            selectinload(ApiClient.user).selectinload(User.organisation),
        )
        .order_by(ApiClient.revoked_at.is_not(None), ApiClient.name)
    ).all()
    return render_template("api/clients.html", clients=found, labels=clients.ROLE_LABELS)


@admin_bp.route("/new", methods=["GET", "POST"])
def new():
    form = NewApiClientForm()
    _prepare(form)
    if form.validate_on_submit():
        try:
            issued = clients.register(
                db.session,
                name=form.name.data,
                role=form.role.data,
                suite_ids=[int(i) for i in form.suite_ids.data or []],
                organisation_id=int(form.organisation_id.data)
                if form.organisation_id.data
                else None,
                contact_email=form.contact_email.data,
                by=current_user._get_current_object(),
            )
        except clients.ClientProblem as problem:
            db.session.rollback()
            _show_problem(form, problem)
        else:
            db.session.commit()
            return _token_page(issued, first=True)
    status = 400 if form.is_submitted() else 200
    return render_template("api/client_form.html", form=form, client=None), status


@admin_bp.route("/<int:client_id>", methods=["GET", "POST"])
def edit(client_id: int):
    client = _client_or_404(client_id)
    form = ApiClientForm()
    _prepare(form)
    if form.is_submitted() and changed_meanwhile(
        db.session, form.shown.data, client, clients.client_values
    ):
        # Saving over another administrator's change would undo it (a suite taken away
        # would be given back): the form shows the system as it is now.
        form = ApiClientForm(formdata=None)
        _prepare(form)
        _fill(form, client)
        flash(CHANGED_MEANWHILE, "warning")
        return _client_page(form, client, 409)
    if not form.is_submitted():
        _fill(form, client)
    elif client.active and form.validate():
        seen_before = _scope_ids(client)
        try:
            changes = clients.update(
                db.session,
                client,
                name=form.name.data,
                suite_ids=[int(i) for i in form.suite_ids.data or []],
                organisation_id=int(form.organisation_id.data)
                if form.organisation_id.data
                else None,
                contact_email=form.contact_email.data,
                by=current_user._get_current_object(),
            )
        except clients.ClientProblem as problem:
            db.session.rollback()
            client = _client_or_404(client_id)
            _show_problem(form, problem)
        else:
            db.session.commit()
            flash(f"Saved {client.name}." if changes else "Nothing was changed.", "success")
            if not _scope_ids(client) <= seen_before:
                flash(WIDENED, "warning")
            return redirect(url_for("api_clients.edit", client_id=client.id))
    return _client_page(form, client, 400 if form.is_submitted() else 200)


# A system keeping a copy reads the referrals changed since its last read: referrals
# newly in its scope changed before that, so it would never be given them.
WIDENED = (
    "The system now sees referrals it could not see before. Its list of changes does not "
    "include them (they changed before its last read): ask its supplier to read its "
    "referrals again from the start, without changed_since."
)


def _scope_ids(client: ApiClient) -> set[tuple[str, int]]:
    """What a client's scope is made of: its custody suites, or its organisation."""
    if client.role == Role.CUSTODY:
        return {("suite", suite.id) for suite in client.suites}
    organisation_id = client.user.organisation_id
    return {("organisation", organisation_id)} if organisation_id else set()


def _fill(form: ApiClientForm, client: ApiClient) -> None:
    """The form as the system stands."""
    form.name.data, form.contact_email.data = client.name, client.contact_email
    form.suite_ids.data = [str(s.id) for s in client.suites]
    form.organisation_id.data = str(client.user.organisation_id or "")
    form.shown.data = state_mark(clients.client_values(client))


def _client_page(form: ApiClientForm, client: ApiClient, status: int):
    return render_template(
        "api/client_form.html",
        form=form,
        client=client,
        rotate_form=RotateForm(formdata=None),
        revoke_form=RevokeForm(formdata=None),
    ), status


@admin_bp.post("/<int:client_id>/rotate")
def rotate(client_id: int):
    client = _client_or_404(client_id)
    if not client.active:
        flash("A revoked system cannot be given a new token: register it again.", "warning")
        return redirect(url_for("api_clients.edit", client_id=client.id))
    issued = clients.rotate(db.session, client, by=current_user._get_current_object())
    db.session.commit()
    return _token_page(issued, first=False)


@admin_bp.post("/<int:client_id>/revoke")
def revoke(client_id: int):
    client = _client_or_404(client_id)
    form = RevokeForm()
    if not form.confirm.data:
        flash(f"{client.name} was not revoked: tick the box to confirm, then revoke.", "warning")
        return redirect(url_for("api_clients.edit", client_id=client.id))
    clients.revoke(db.session, client, by=current_user._get_current_object())
    db.session.commit()
    flash(f"{client.name} is revoked: its token no longer works.", "success")
    return redirect(url_for("api_clients.edit", client_id=client.id))
