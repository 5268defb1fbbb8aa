"""``/admin/api-clients/<id>/webhook``: an administrator sets where a system hears of
status changes, issues its signing secret (shown once), and sees what was delivered."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, URLField
from wtforms.validators import Length

from ..api.models import ApiClient
from ..auth.access import role_required
from ..choices import Role
from ..extensions import db
from ..notifications.models import Notification
from .addresses import MAX_LENGTH, AddressProblem
from .registration import NewSecret, remove, rotate_secret, set_address

bp = Blueprint("webhooks", __name__, url_prefix="/admin/api-clients")
SHOWN = 20


class AddressForm(FlaskForm):
    url = URLField(
        "Address to send status changes to",
        validators=[Length(max=MAX_LENGTH, message=f"Use at most {MAX_LENGTH} characters.")],
    )


class SecretForm(FlaskForm):
    """Only the CSRF token: a new secret is issued on submit."""


class RemoveForm(FlaskForm):
    confirm = BooleanField("I understand events not yet delivered will not be sent")


@bp.before_request
@role_required(Role.ADMIN)
def admins_only():
    return None


def _client(client_id: int) -> ApiClient:
    client = db.session.get(ApiClient, client_id)
    if client is None:
        abort(404)
    return client


def recent_events(client: ApiClient) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.api_client_id == client.id)
            .order_by(Notification.id.desc())
            .limit(SHOWN)
        )
    )


def _page(client: ApiClient, form: AddressForm, status: int = 200):
    return render_template(
        "webhooks/webhook.html",
        client=client,
        form=form,
        secret_form=SecretForm(formdata=None),
        remove_form=RemoveForm(formdata=None),
        events=recent_events(client),
    ), status


def _secret_page(issued: NewSecret):
    page = render_template("webhooks/secret.html", client=issued.client, secret=issued.secret)
    return page, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"}


@bp.route("/<int:client_id>/webhook", methods=["GET", "POST"])
def webhook(client_id: int):
    client = _client(client_id)
    form = AddressForm()
    if not form.is_submitted():
        form.url.data = client.webhook_url
        return _page(client, form)
    if not form.validate():
        return _page(client, form, 400)
    try:
        issued = set_address(
            db.session, client, form.url.data or "", by=current_user._get_current_object()
        )
    except AddressProblem as problem:
        db.session.rollback()
        form.url.errors = [*form.url.errors, str(problem)]
        return _page(_client(client_id), form, 400)
    db.session.commit()
    if issued:
        return _secret_page(issued)
    flash(f"{client.name} gets its status changes at {client.webhook_url}.", "success")
    return redirect(url_for("webhooks.webhook", client_id=client.id))


@bp.post("/<int:client_id>/webhook/secret")
def new_secret(client_id: int):
    client = _client(client_id)
    if not SecretForm().validate_on_submit():
        flash("The page was out of date. Try again.", "error")
        return redirect(url_for("webhooks.webhook", client_id=client.id))
    try:
        issued = rotate_secret(db.session, client, by=current_user._get_current_object())
    except AddressProblem as problem:
        db.session.rollback()
        flash(str(problem), "warning")
        return redirect(url_for("webhooks.webhook", client_id=client.id))
    db.session.commit()
    return _secret_page(issued)


@bp.post("/<int:client_id>/webhook/remove")
def stop(client_id: int):
    client = _client(client_id)
    form = RemoveForm()
    if not form.validate_on_submit() or not form.confirm.data:
        flash("Events were not stopped: tick the box to confirm, then stop them.", "warning")
        return redirect(url_for("webhooks.webhook", client_id=client.id))
    remove(db.session, client, by=current_user._get_current_object())
    db.session.commit()
    flash(f"{client.name} gets no more events.", "success")
    return redirect(url_for("webhooks.webhook", client_id=client.id))
